"""CDISC Dataset-JSON 1.1: one file per table, as JSON (``.json``) and as NDJSON (``.ndjson``), streamed.

Types: ``str`` → string, ``int`` → integer, ``float`` → decimal (the value as a string, so no binary rounding
enters), ``time`` → datetime (ISO 8601 in UTC with ``Z``), ``bool`` → boolean. Missing is ``null``; the reason
(a missing-data code) is in the ``daily_missing`` data set. ``records`` is the row count and
``dbLastModifiedDateTime`` the data cut-off. Validated against the published JSON Schema
(``schemas/dataset-json-1.1.schema.json``) in the tests.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from . import metadata as md

VERSION = "1.1.0"
SCHEMA_FILE = Path(__file__).parent / "schemas" / "dataset-json-1.1.schema.json"
DATA_TYPES = {"str": "string", "int": "integer", "float": "decimal", "time": "datetime", "bool": "boolean"}


def _column(texts: list[str], kind: str) -> list:
    """A column's CSV text as Dataset-JSON values (``None`` for missing)."""
    if kind == "int":
        return [int(t) if t else None for t in texts]
    if kind == "bool":
        return [None if not t else t == "true" for t in texts]
    return [t or None for t in texts]


def header(source, table: md.TableMeta, created: str) -> dict:
    cutoff = source.manifest.data_cutoff
    head = {
        "datasetJSONCreationDateTime": created,
        "datasetJSONVersion": VERSION,
        "fileOID": f"SHINE.{table.sas_name}.{created}",
        "dbLastModifiedDateTime": cutoff or created,
        "originator": "SHINE trial data platform",
        "sourceSystem": {"name": "SHINE", "version": "1"},
        "studyOID": md.STUDY_OID,
        "metaDataVersionOID": md.METADATA_VERSION_OID,
        "itemGroupOID": table.oid,
        "isReferenceData": table.name == "screening",
        "records": source.manifest.rows[table.name],
        "name": table.sas_name,
        "label": table.label,
        "columns": [],
        # the schema requires creationDateTime (the 1.1 standard's datasetJSONCreationDateTime)
        "creationDateTime": created,
    }
    for v in table.variables:
        column: dict[str, object] = {"itemOID": v.oid, "name": v.name, "label": v.label, "dataType": DATA_TYPES[v.kind]}
        if v.kind == "float":
            column["targetDataType"] = "decimal"
            column["dataType"] = "decimal"
        if v.key_sequence:
            column["keySequence"] = v.key_sequence
        head["columns"].append(column)
    return head


def write_table(source, name: str, out_dir: Path, *, created: str, blinded: bool) -> list[Path]:
    table = md.study_metadata(blinded).tables[name]
    kinds = [v.kind for v in table.variables]
    head = header(source, table, created)
    json_path, ndjson_path = out_dir / f"{name}.json", out_dir / f"{name}.ndjson"
    with open(json_path, "w", encoding="utf-8") as js, open(ndjson_path, "w", encoding="utf-8") as nd:
        opening = json.dumps(head, ensure_ascii=False)
        js.write(opening[:-1] + ', "rows": [')
        nd.write(opening + "\n")
        first = True
        for chunk in source.text_chunks(name):
            columns = [_column(chunk[c].tolist(), k) for c, k in zip(chunk.columns, kinds)]
            lines = [json.dumps(list(row), ensure_ascii=False) for row in zip(*columns)]
            if lines:
                js.write(("\n" if first else ",\n") + ",\n".join(lines))
                nd.write("\n".join(lines) + "\n")
                first = False
        js.write("\n]}\n")
    return [json_path, ndjson_path]


def write(source, out_dir: str | Path, *, created: str | None = None) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    created = created or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    blinded = source.manifest.blinded
    files = []
    for name in md.study_metadata(blinded).tables:
        if source.has(name):
            files += write_table(source, name, out, created=created, blinded=blinded)
    return files


def read(path: str | Path):
    """A Dataset-JSON file (JSON or NDJSON) as (metadata, rows as lists)."""
    path = Path(path)
    if path.suffix == ".ndjson":
        with open(path, encoding="utf-8") as fh:
            head = json.loads(fh.readline())
            data = [json.loads(line) for line in fh if line.strip()]
        return head, data
    doc = json.loads(path.read_text(encoding="utf-8"))
    return doc, doc.get("rows", [])
