"""CDISC ODM 1.3.2 Snapshot: the study's metadata (one study event, a form and item group per table, items with
types, units, range checks and code lists, the missing-data code list) and its clinical data, streamed
participant by participant.

The mapping from the analysis data set to ODM lives here and only here (:func:`odm_mapping`), so an ODM 2.0
writer can share it. A value with a missing-data code is an ``ItemData`` with ``IsNull="Yes"`` and an
``Annotation/Flag/FlagValue`` from the ``CL.MISSING`` code list (``ND``, ``UNK``, ``NA``); a value simply not
entered has no ``ItemData``. Screened patients who were not randomised are not subjects and are left out (they
are in the other formats' ``screening`` table). Validated against the official XSD (shipped with odmlib) in
the tests and by :func:`validate`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import defusedxml.ElementTree as ET
import pandas as pd

from shine.analysis.schema import CODED_INPUTS, TABLES

from . import metadata as md
from .source import by_participant

NS = "http://www.cdisc.org/ns/odm/v1.3"
ODM_TYPES = {"str": "text", "int": "integer", "float": "float", "time": "datetime", "bool": "boolean"}
STUDY_EVENT_OID = "SE.TRIAL"
SUBJECT_TABLES = ("participants", "daily", "icu_stays", "deaths", "infusion", "adverse_events", "followup",
                  "deviations")


@dataclass(frozen=True)
class ItemGroupMap:
    table: md.TableMeta
    form_oid: str
    repeating: bool
    repeat_key: tuple[str, ...]  # key columns after participant_id


def odm_mapping(blinded: bool) -> list[ItemGroupMap]:
    """Our tables as ODM forms and item groups (one form per table, in the data set's order)."""
    meta = md.study_metadata(blinded)
    return [ItemGroupMap(meta.tables[name], f"F.{meta.tables[name].sas_name}", name != "participants"
                         and name != "deaths", tuple(k for k in TABLES[name].key if k != "participant_id"))
            for name in SUBJECT_TABLES]


@dataclass(frozen=True)
class AuditFormMap:
    """One record type of the audit trail (``records.dailyrecord``) as an ODM form and repeating item group,
    the record's id as the repeat key, and one text item per audited field."""

    object_type: str
    form_oid: str
    group_oid: str
    name: str

    def item_oid(self, field: str) -> str:
        return f"IT.{self.name}.{_oid_part(field)}"


def _oid_part(text_: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text_).strip("_").upper() or "X"


def audit_mapping(object_type: str) -> AuditFormMap:
    """The record types of the audit trail as ODM forms (the Archival Transactional file,
    :mod:`.odm_audit`): ``records.dailyrecord`` → ``F.AUDIT.RECORDS_DAILYRECORD`` / ``IG.AUDIT.…``."""
    name = "AUDIT." + _oid_part(object_type or "trial")
    return AuditFormMap(object_type, f"F.{name}", f"IG.{name}", name)


def _unit_oid(unit: str) -> str:
    return "MU." + (re.sub(r"[^A-Za-z0-9]+", "_", unit).strip("_").upper() or "X")


def _tt(text_: str) -> str:
    return f'<TranslatedText xml:lang="en">{_esc(text_)}</TranslatedText>'


def _esc(value: str) -> str:
    return quoteattr(value)[1:-1]


def _odm_time(value) -> str:
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S+00:00")


GLOBAL_VARIABLES = ("<GlobalVariables><StudyName>SHINE</StudyName>"
                    "<StudyDescription>SHINE: a multicentre, double-blind, randomised ICU trial in septic shock"
                    "</StudyDescription><ProtocolName>SHINE</ProtocolName></GlobalVariables>")


def _metadata_xml(meta: md.StudyMetadata, groups: list[ItemGroupMap]) -> str:
    out = [f'<Study OID="{md.STUDY_OID}">', GLOBAL_VARIABLES, "<BasicDefinitions>"]
    for unit in meta.units:
        out.append(f'<MeasurementUnit OID="{_unit_oid(unit)}" Name="{_esc(unit)}"><Symbol>{_tt(unit)}</Symbol>'
                   f"</MeasurementUnit>")
    out.append("</BasicDefinitions>")
    out.append(f'<MetaDataVersion OID="{md.METADATA_VERSION_OID}" Name="SHINE analysis data set, schema 1" '
               f'Description="{"blinded: arms as A/B" if meta.blinded else "unblinded"}">')
    out.append(f'<Protocol><StudyEventRef StudyEventOID="{STUDY_EVENT_OID}" OrderNumber="1" Mandatory="Yes"/>'
               f"</Protocol>")
    out.append(f'<StudyEventDef OID="{STUDY_EVENT_OID}" Name="Trial" Repeating="No" Type="Common">')
    for i, g in enumerate(groups, 1):
        out.append(f'<FormRef FormOID="{g.form_oid}" OrderNumber="{i}" Mandatory="No"/>')
    out.append("</StudyEventDef>")
    for g in groups:
        out.append(f'<FormDef OID="{g.form_oid}" Name="{_esc(g.table.label)}" Repeating="No">'
                   f'<ItemGroupRef ItemGroupOID="{g.table.oid}" Mandatory="No"/></FormDef>')
    for g in groups:
        t = g.table
        out.append(f'<ItemGroupDef OID="{t.oid}" Name="{t.name}" Repeating="{"Yes" if g.repeating else "No"}" '
                   f'SASDatasetName="{t.sas_name}"><Description>{_tt(t.label)}</Description>')
        for i, v in enumerate(t.variables, 1):
            key = f' KeySequence="{v.key_sequence}"' if v.key_sequence else ""
            out.append(f'<ItemRef ItemOID="{v.oid}" OrderNumber="{i}" Mandatory="{"Yes" if v.required else "No"}"'
                       f"{key}/>")
        out.append("</ItemGroupDef>")
    for g in groups:
        for v in g.table.variables:
            comment = f' Comment="{_esc(v.derivation)}"' if v.derivation else ""
            out.append(f'<ItemDef OID="{v.oid}" Name="{v.name}" DataType="{ODM_TYPES[v.kind]}" '
                       f'SASFieldName="{v.sas_name}"{comment}><Description>{_tt(v.label)}</Description>')
            if v.unit:
                out.append(f'<MeasurementUnitRef MeasurementUnitOID="{_unit_oid(v.unit)}"/>')
            for comparator, limit in (("GE", v.low), ("LE", v.high)):
                if limit is not None:
                    shown = str(int(limit)) if float(limit).is_integer() else repr(float(limit))
                    out.append(f'<RangeCheck Comparator="{comparator}" SoftHard="Hard"><CheckValue>{shown}'
                               f"</CheckValue></RangeCheck>")
            if v.codelist is not None and v.kind == "str":
                out.append(f'<CodeListRef CodeListOID="{v.codelist.oid}"/>')
            out.append("</ItemDef>")
    for cl in meta.codelists.values():
        if cl.oid == "CL.NY":  # booleans are ODM booleans, not a code list
            continue
        out.append(f'<CodeList OID="{cl.oid}" Name="{_esc(cl.name)}" DataType="text">')
        for value, decode in cl.items:
            out.append(f'<CodeListItem CodedValue="{_esc(value)}"><Decode>{_tt(decode)}</Decode></CodeListItem>')
        out.append("</CodeList>")
    out.append("</MetaDataVersion></Study>")
    return "\n".join(out)


def write(source, path: str | Path, *, created: str | None = None) -> Path:
    """Write the ODM Snapshot file (metadata + clinical data)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blinded = source.manifest.blinded
    meta = md.study_metadata(blinded)
    groups = odm_mapping(blinded)
    created = created or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    cutoff = source.manifest.data_cutoff
    as_of = f' AsOfDateTime="{_odm_time(cutoff)}"' if cutoff else ""
    daily = meta.tables["daily"]
    coded_columns = md.CODED_COLUMNS
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        fh.write(f'<ODM xmlns="{NS}" FileType="Snapshot" Granularity="All" FileOID="SHINE.ODM.{created}" '
                 f'CreationDateTime="{created}"{as_of} ODMVersion="1.3.2" SourceSystem="SHINE" '
                 f'SourceSystemVersion="1" Description="{"blinded" if blinded else "unblinded"}">\n')
        fh.write(_metadata_xml(meta, groups))
        fh.write(f'\n<ClinicalData StudyOID="{md.STUDY_OID}" MetaDataVersionOID="{md.METADATA_VERSION_OID}">\n')
        for person, tables in by_participant(source, SUBJECT_TABLES[1:] + ("daily_missing",)):
            codes: dict[tuple[int, str], str] = {}
            for _, day, name, code in tables.get("daily_missing", ()):
                for column in coded_columns[name]:
                    codes[(int(day), column)] = code
            parts = [f'<SubjectData SubjectKey="{_esc(person[0])}"><StudyEventData StudyEventOID="{STUDY_EVENT_OID}">']
            for g in groups:
                group_rows = [person] if g.table.name == "participants" else tables.get(g.table.name, [])
                if not group_rows:
                    continue
                parts.append(f'<FormData FormOID="{g.form_oid}">')
                names = [v.name for v in g.table.variables]
                key_index = [names.index(k) for k in g.repeat_key]
                for row in group_rows:
                    repeat = (' ItemGroupRepeatKey="' + _esc(".".join(str(row[i]) for i in key_index)) + '"'
                              if g.repeating else "")
                    parts.append(f'<ItemGroupData ItemGroupOID="{g.table.oid}"{repeat}>')
                    for v, value in zip(g.table.variables, row):
                        if value:
                            if v.kind == "time":
                                value = value[:-1] + "+00:00"
                            parts.append(f'<ItemData ItemOID="{v.oid}" Value="{_esc(value)}"/>')
                        elif g.table is daily and (code := codes.get((int(row[1]), v.name))):
                            parts.append(f'<ItemData ItemOID="{v.oid}" IsNull="Yes"><Annotation SeqNum="1"><Flag>'
                                         f'<FlagValue CodeListOID="{meta.missing.oid}">'
                                         f"{md.missing_coded_value(code)}</FlagValue></Flag></Annotation></ItemData>")
                    parts.append("</ItemGroupData>")
                parts.append("</FormData>")
            parts.append("</StudyEventData></SubjectData>\n")
            fh.write("".join(parts))
        fh.write("</ClinicalData>\n</ODM>\n")
    return path


def schema_path() -> Path:
    import odmlib

    return Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"


def validate(path: str | Path) -> list[str]:
    """Every XSD violation of the file (empty when valid)."""
    import xmlschema

    schema = xmlschema.XMLSchema(str(schema_path()))
    return [f"{e.path}: {e.reason}" for e in schema.iter_errors(str(path))]


def read(path: str | Path, *, blinded: bool) -> dict[str, pd.DataFrame]:
    """The clinical data of an ODM file written by :func:`write` as the data set's tables (text values,
    ``None`` for missing), with the missing-data flags as the ``daily_missing`` table."""
    groups = {g.table.oid: g for g in odm_mapping(blinded)}
    items = {v.oid: v for g in groups.values() for v in g.table.variables}
    tables: dict[str, list[dict]] = {g.table.name: [] for g in groups.values()}
    missing: list[tuple] = []
    q = f"{{{NS}}}"
    for _, elem in ET.iterparse(str(path), events=("end",)):
        if elem.tag != f"{q}ItemGroupData":
            continue
        g = groups[elem.get("ItemGroupOID")]
        row: dict = {v.name: None for v in g.table.variables}
        for item in elem.iter(f"{q}ItemData"):
            v = items[item.get("ItemOID")]
            if item.get("IsNull") == "Yes":
                flag = item.find(f"{q}Annotation/{q}Flag/{q}FlagValue")
                row.setdefault("__codes", {})[v.name] = md.missing_code_of(flag.text)
            else:
                value = item.get("Value")
                if v.kind == "time":
                    value = value.replace("+00:00", "Z")
                row[v.name] = value
        codes = row.pop("__codes", {})
        if codes:
            for name in CODED_INPUTS:
                columns = md.CODED_COLUMNS[name]
                if columns[0] in codes:
                    missing.append((row["participant_id"], row["study_day"], name, codes[columns[0]]))
        tables[g.table.name].append(row)
        elem.clear()
    frames = {name: pd.DataFrame(data, columns=list(TABLES[name].column_names)) for name, data in tables.items()}
    frames["daily_missing"] = pd.DataFrame(missing, columns=list(TABLES["daily_missing"].column_names))
    return frames
