"""The codebook of every bundle (HTML and CSV), generated from the same metadata as the files it describes:
table, name, SAS name, label, type, unit, key, allowed range, code list, missing-data codes, derivation."""

from __future__ import annotations

import csv
import html
from pathlib import Path

from . import metadata as md

FIELDS = ("table", "name", "sas_name", "label", "type", "unit", "key", "required", "range", "code_list",
          "missing_codes", "derivation")


def _range(v: md.Variable) -> str:
    def shown(x):
        return str(int(x)) if float(x).is_integer() else repr(float(x))
    if v.low is None and v.high is None:
        return ""
    return f"{'' if v.low is None else shown(v.low)}–{'' if v.high is None else shown(v.high)}"


def _missing(v: md.Variable) -> str:
    if not v.coded:
        return ""
    return "; ".join(f"{code} = {coded} (Stata .{letter}, SPSS {number})"
                     for code, coded, _, letter, number in md.MISSING_CODE_LIST)


def entries(meta: md.StudyMetadata, tables: list[str]) -> list[dict]:
    out = []
    for name in tables:
        for v in meta.tables[name].variables:
            code_list = ("; ".join(f"{value} = {decode}" for value, decode in v.codelist.items)
                         if v.codelist is not None else "")
            out.append({"table": name, "name": v.name, "sas_name": v.sas_name, "label": v.label, "type": v.kind,
                        "unit": v.unit, "key": str(v.key_sequence or ""), "required": "yes" if v.required else "no",
                        "range": _range(v), "code_list": code_list, "missing_codes": _missing(v),
                        "derivation": v.derivation})
    return out


def write(source, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = md.study_metadata(source.manifest.blinded)
    tables = [n for n in meta.tables if source.has(n)]
    rows = entries(meta, tables)
    csv_path = out / "codebook.csv"
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    parts = ["<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>SHINE codebook</title>",
             "<style>body{font-family:sans-serif;margin:1rem}table{border-collapse:collapse;font-size:.85rem}"
             "td,th{border:1px solid #999;padding:.2rem .4rem;vertical-align:top;text-align:left}</style></head><body>",
             "<h1>SHINE analysis data set: codebook</h1>",
             f"<p>{'Blinded: arms are coded A/B.' if meta.blinded else 'Unblinded.'} Data cut-off "
             f"{html.escape(source.manifest.data_cutoff or 'not given')}. Times are UTC. Empty means missing; "
             f"a daily value missing with a code has its code in <code>daily_missing</code>.</p>"]
    for name in tables:
        table = meta.tables[name]
        rows_n = source.manifest.rows.get(name, 0)
        parts.append(f"<h2 id=\"{name}\">{html.escape(table.label)} (<code>{name}</code>, SAS "
                     f"<code>{table.sas_name}</code>, {rows_n} rows; key {', '.join(table.key)})</h2>")
        parts.append("<table><tr>" + "".join(f"<th>{f.replace('_', ' ')}</th>" for f in FIELDS[1:]) + "</tr>")
        for row in rows:
            if row["table"] == name:
                parts.append("<tr>" + "".join(f"<td>{html.escape(row[f])}</td>" for f in FIELDS[1:]) + "</tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    html_path = out / "codebook.html"
    html_path.write_text("\n".join(parts), encoding="utf-8")
    return [csv_path, html_path]
