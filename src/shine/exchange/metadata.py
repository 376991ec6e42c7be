"""The one metadata definition every exchange writer uses: labels, units, types, code lists, missing-data codes
and the short names of the 8-character formats, for each table and column of the analysis data set.

The tables and columns come from :mod:`shine.analysis.schema` (the contract of docs/data-model.md); this module
adds only what a reader of a standard file needs to understand them. A blinded export's arm code list is A/B:
nothing here names an arm or the drug then.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from shine import protocol as protocol_mod
from shine.analysis.schema import BLINDED_ARM_CODES, CODED_INPUTS, MISSING_CODES, TABLES, Column, Table

STUDY_OID = "SHINE"
METADATA_VERSION_OID = "MDV.SHINE.1"
SAS_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,7}$")
SAS_LABEL_MAX = 40
SAS_VALUE_MAX_BYTES = 200

# Missing-data codes as a code list: the analysis data set's code, its ODM/define-style coded value and the
# formats' own user-missing values (Stata extended missing, SPSS user-missing). A coded value is missing in its
# column; the code says why. These numbers are declared missing in the file's metadata, never read as values.
MISSING_CODE_LIST = (
    # code,            coded value, decode,                 Stata, SPSS
    ("not_done",       "ND",  "Not done",                   "a",   -97),
    ("unknown",        "UNK", "Unknown",                    "b",   -98),
    ("not_applicable", "NA",  "Not applicable",             "c",   -99),
)
assert tuple(row[0] for row in MISSING_CODE_LIST) == MISSING_CODES
STATA_MISSING = {code: letter for code, _, _, letter, _ in MISSING_CODE_LIST}
SPSS_MISSING = {code: number for code, _, _, _, number in MISSING_CODE_LIST}
# which daily columns a coded input stands for (``vasopressor_doses``: the four doses together)
CODED_COLUMNS = {name: (("dopamine", "dobutamine", "epinephrine", "norepinephrine") if name == "vasopressor_doses"
                        else (name,)) for name in CODED_INPUTS}

TABLE_LABELS = {
    # table: (label, 8-character name of SAS XPORT)
    "participants": ("Randomised participants at baseline", "PARTICIP"),
    "daily": ("Daily SOFA inputs per ICU study day", "DAILY"),
    "daily_missing": ("Missing-data codes of daily inputs", "DAILYMIS"),
    "icu_stays": ("ICU stays and readmissions", "ICUSTAYS"),
    "deaths": ("Deaths", "DEATHS"),
    "infusion": ("Trial drug infusion segments", "INFUSION"),
    "adverse_events": ("Adverse events", "AE"),
    "followup": ("Follow-up visits (day 28, day 90)", "FOLLOWUP"),
    "deviations": ("Protocol deviations", "DEVIATN"),
    "screening": ("Screened patients (CONSORT)", "SCREENIN"),
}

# column: (label ≤ 40 characters, unit or "", derivation or "", SAS name when the column name does not fit).
# "table.column" overrides "column".
_C = {
    "participant_id": ("Participant identifier", "", "", "PARTID"),
    "site": ("Site code", "", "", ""),
    "arm": ("Allocated arm", "", "", ""),
    "randomisation_number": ("Randomisation number", "", "", "RANDNUM"),
    "randomised_at": ("Time of randomisation (UTC)", "", "", "RANDDTM"),
    "age": ("Age at enrolment", "years", "", ""),
    "sex": ("Sex", "", "", ""),
    "weight_kg": ("Body weight", "kg", "", "WEIGHT"),
    "weight_estimated": ("Weight estimated, not weighed", "", "", "WEIGHTES"),
    "site_of_infection": ("Site of infection", "", "", "INFSITE"),
    "lactate_mmol_l": ("Lactate at screening", "mmol/L", "", "LACTATE"),
    "stm_ng_ml": ("Soluble thrombomodulin at screening", "ng/mL", "", "STM"),
    "baseline_sofa_respiration": ("Baseline SOFA respiration", "points", "", "BSRESP"),
    "baseline_sofa_coagulation": ("Baseline SOFA coagulation", "points", "", "BSCOAG"),
    "baseline_sofa_liver": ("Baseline SOFA liver", "points", "", "BSLIVER"),
    "baseline_sofa_cardiovascular": ("Baseline SOFA cardiovascular", "points", "", "BSCARDIO"),
    "baseline_sofa_cns": ("Baseline SOFA central nervous system", "points", "", "BSCNS"),
    "baseline_sofa_renal": ("Baseline SOFA renal", "points", "", "BSRENAL"),
    "baseline_sofa_modified": ("Baseline modified SOFA (no CNS)", "points",
                               "sum of the five non-CNS baseline components; empty when one is missing", "BSMOD"),
    "data_use_consent": ("Consent to use the data", "", "", "DATACONS"),
    "study_day": ("Study day (24 h from randomisation)", "day", "", "STUDYDAY"),
    "pao2_fio2": ("PaO2/FiO2 ratio, worst of the day", "mmHg", "worst (lowest) value of the study day", "PFRATIO"),
    "respiratory_support": ("Respiratory support", "", "", "RESPSUPP"),
    "platelets": ("Platelets, worst of the day", "10^9/L", "worst (lowest) value of the study day", "PLATELET"),
    "bilirubin": ("Bilirubin, worst of the day", "umol/L", "worst (highest) value of the study day", "BILI"),
    "map_mmhg": ("Mean arterial pressure, lowest", "mmHg", "worst (lowest) value of the study day", "MAP"),
    "dopamine": ("Dopamine, highest dose", "ug/kg/min", "highest dose of the study day; 0 when known not given",
                 "DOPAMINE"),
    "dobutamine": ("Dobutamine, highest dose", "ug/kg/min", "highest dose of the study day; 0 when known not given",
                   "DOBUTAMI"),
    "epinephrine": ("Epinephrine, highest dose", "ug/kg/min",
                    "highest dose of the study day; 0 when known not given", "EPINEPHR"),
    "norepinephrine": ("Norepinephrine, highest dose", "ug/kg/min",
                       "highest dose of the study day; 0 when known not given", "NOREPINE"),
    "gcs": ("Glasgow Coma Scale, worst of the day", "points", "worst (lowest) value of the study day", ""),
    "creatinine": ("Creatinine, worst of the day", "umol/L", "worst (highest) value of the study day", "CREAT"),
    "urine_output": ("Urine output", "mL/24 h", "total of the study day", "URINE"),
    "vasopressor": ("Any vasopressor or inotrope", "", "", "VASOPRES"),
    "mechanical_ventilation": ("Invasive mechanical ventilation", "", "", "MECHVENT"),
    "rrt": ("Renal replacement therapy", "", "", ""),
    "stay": ("ICU stay number", "", "", ""),
    "admitted_at": ("ICU admission time (UTC)", "", "", "ADMDTM"),
    "discharged_at": ("ICU discharge time (UTC)", "", "", "DISDTM"),
    "discharge": ("How the stay ended", "", "", "DISCHRG"),
    "died_at": ("Time of death (UTC)", "", "", "DTHDTM"),
    "cause": ("Cause of death", "", "", ""),
    "segment": ("Infusion segment number", "", "", "SEGMENT"),
    "started_at": ("Segment start (UTC)", "", "", "STARTDTM"),
    "stopped_at": ("Segment stop (UTC)", "", "", "STOPDTM"),
    "rate_ml_per_h": ("Infusion rate", "mL/h", "", "RATE"),
    "concentration_ng_per_ml": ("Drug concentration", "ng/mL", "", "CONC"),
    "stop_reason": ("Reason the segment stopped", "", "", "STOPRSN"),
    "event_id": ("Adverse event identifier", "", "", "AEID"),
    "onset_at": ("Onset time (UTC)", "", "", "ONSETDTM"),
    "term": ("Adverse event term", "", "", ""),
    "prespecified": ("Prespecified event", "", "", "PRESPEC"),
    "serious": ("Serious (SAE criteria met)", "", "", ""),
    "related": ("Related to the trial drug", "", "", ""),
    "expected": ("Expected (reference safety info)", "", "", ""),
    "visit_day": ("Follow-up visit day", "day", "", "VISITDAY"),
    "assessed_at": ("Assessment time (UTC)", "", "", "ASSESDTM"),
    "vital_status": ("Vital status", "", "", "VITALST"),
    "eq5d_mobility": ("EQ-5D mobility", "level", "", "EQMOB"),
    "eq5d_selfcare": ("EQ-5D self-care", "level", "", "EQCARE"),
    "eq5d_activities": ("EQ-5D usual activities", "level", "", "EQACT"),
    "eq5d_pain": ("EQ-5D pain/discomfort", "level", "", "EQPAIN"),
    "eq5d_anxiety": ("EQ-5D anxiety/depression", "level", "", "EQANX"),
    "eq5d_vas": ("EQ-5D visual analogue scale", "points", "", "EQVAS"),
    "deviation_id": ("Deviation identifier", "", "", "DEVID"),
    "category": ("Deviation category", "", "", "CATEGORY"),
    "major": ("Major deviation", "", "", ""),
    "description": ("Description", "", "", "DESCR"),
    "screening_id": ("Screening identifier", "", "", "SCRID"),
    "screened_at": ("Screening time (UTC)", "", "", "SCRDTM"),
    "outcome": ("Screening outcome", "", "", "OUTCOME"),
    "reasons": ("Reasons (criterion codes)", "", "';'-separated criterion codes or reasons", "REASONS"),
    "screening.participant_id": ("Participant identifier if randomised", "", "", "PARTID"),
    "input": ("Daily input that carries the code", "", "", ""),
    "code": ("Missing-data code", "", "", ""),
}


@dataclass(frozen=True)
class CodeList:
    oid: str
    name: str
    items: tuple[tuple[str, str], ...]  # (value as stored, decode)

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.items)


@dataclass(frozen=True)
class Variable:
    table: str
    name: str
    kind: str  # the schema's kind: str, int, float, bool, time
    label: str
    unit: str
    derivation: str
    sas_name: str
    required: bool
    low: float | None
    high: float | None
    key_sequence: int | None  # position in the table's key, 1-based
    codelist: CodeList | None
    coded: bool  # may carry a missing-data code (daily inputs)

    @property
    def oid(self) -> str:
        return f"IT.{TABLE_LABELS[self.table][1]}.{self.sas_name}"


@dataclass(frozen=True)
class TableMeta:
    name: str
    label: str
    sas_name: str
    key: tuple[str, ...]
    variables: tuple[Variable, ...]

    @property
    def oid(self) -> str:
        return f"IG.{self.sas_name}"

    def variable(self, name: str) -> Variable:
        return next(v for v in self.variables if v.name == name)


@dataclass(frozen=True)
class StudyMetadata:
    blinded: bool
    tables: dict[str, TableMeta]
    codelists: dict[str, CodeList]
    missing: CodeList

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(sorted({v.unit for t in self.tables.values() for v in t.variables if v.unit}))


def _oid_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").upper()


def _codelist_for(table: Table, column: Column, blinded: bool, proto) -> CodeList | None:
    name = column.name
    if name == "arm":
        values = BLINDED_ARM_CODES if blinded else tuple(proto.arms)
        return CodeList("CL.ARM", "Arm" + (" (blinded codes)" if blinded else ""), tuple((v, v) for v in values))
    if name == "site":
        return CodeList("CL.SITE", "Site", tuple((code, site.name) for code, site in
                                                 zip(proto.site_codes, proto.sites)))
    if name == "prespecified":
        return CodeList("CL.PRESPEC", "Prespecified event", tuple((e, e.replace("_", " "))
                                                                  for e in proto.safety.prespecified_events))
    if column.kind == "bool":
        return CodeList("CL.NY", "No / yes", (("false", "No"), ("true", "Yes")))
    if column.choices:
        return CodeList(f"CL.{_oid_part(name)}", _C.get(name, (name,))[0],
                        tuple((c, c.replace("_", " ")) for c in column.choices))
    return None


def _variable(table: Table, column: Column, blinded: bool, proto) -> Variable:
    label, unit, derivation, sas = _C.get(f"{table.name}.{column.name}") or _C[column.name]
    sas = sas or column.name.upper()
    key_seq = table.key.index(column.name) + 1 if column.name in table.key else None
    return Variable(table.name, column.name, column.kind, label, unit, derivation, sas, column.required,
                    column.low, column.high, key_seq, _codelist_for(table, column, blinded, proto),
                    table.name == "daily" and any(column.name in cols for cols in CODED_COLUMNS.values()))


@cache
def study_metadata(blinded: bool) -> StudyMetadata:
    """The metadata of every table, for a blinded (arms A/B) or unblinded export."""
    proto = protocol_mod.load()
    tables = {}
    codelists: dict[str, CodeList] = {}
    for table in TABLES.values():
        label, sas = TABLE_LABELS[table.name]
        variables = tuple(_variable(table, c, blinded, proto) for c in table.columns)
        tables[table.name] = TableMeta(table.name, label, sas, table.key, variables)
        for v in variables:
            if v.codelist is not None:
                codelists[v.codelist.oid] = v.codelist
    missing = CodeList("CL.MISSING", "Missing-data code", tuple((coded, decode) for _, coded, decode, _, _ in
                                                                MISSING_CODE_LIST))
    codelists[missing.oid] = missing
    return StudyMetadata(blinded, tables, codelists, missing)


def missing_coded_value(code: str) -> str:
    """The ODM/define coded value of an analysis data set missing-data code (``unknown`` → ``UNK``)."""
    for name, coded, _, _, _ in MISSING_CODE_LIST:
        if name == code:
            return coded
    raise ValueError(f"missing-data code {code!r} is not one of {', '.join(MISSING_CODES)}")


def missing_code_of(coded: str) -> str:
    for name, value, _, _, _ in MISSING_CODE_LIST:
        if value == coded:
            return name
    raise ValueError(f"missing-data coded value {coded!r} is not one of "
                     f"{', '.join(v for _, v, _, _, _ in MISSING_CODE_LIST)}")
