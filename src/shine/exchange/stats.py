"""SAS XPORT v5, Stata .dta and SPSS .sav, one file per table, through pyreadstat.

* SAS XPORT v5 (``file_format_version=5``): names are the 8-character SAS names of :mod:`.metadata`, checked
  by :func:`check_xport` before anything is written (names ``^[A-Z_][A-Z0-9_]{0,7}$``, labels ≤ 40 characters,
  text values ≤ 200 bytes, ASCII only): a value that does not fit is refused with its table, column and row,
  never cut. XPORT v5 has no user-missing values that pyreadstat can write: a coded value is missing (``.``)
  and its code is in ``DAILYMIS`` (the ``daily_missing`` table).
* Stata: version 12 (dta 115, which R's ``foreign::read.dta`` reads) unless a text value is longer than 244
  bytes, then version 15. Code-list columns are integers 1…k with value labels (the codes themselves, the
  decode is in the codebook), booleans 0/1 labelled no/yes, times as ``%tc`` in UTC. Missing-data codes are
  Stata's extended missing values ``.a`` not done, ``.b`` unknown, ``.c`` not applicable.
* SPSS: the same coding; missing-data codes are the user-missing values −97 not done, −98 unknown, −99 not
  applicable, declared missing in the file and labelled.

Missing text is an empty string in all three (the formats have no missing text).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import metadata as md

STATA_SHORT_STRING_BYTES = 244


class FormatError(ValueError):
    """A value or name does not fit the format (table, column, row and limit named)."""


def _frame(source, name: str) -> pd.DataFrame:
    return pd.concat(list(source.chunks(name)), ignore_index=True)


def _codes(source) -> dict[tuple[str, int, str], str]:
    out = {}
    if source.has("daily_missing"):
        for frame in source.chunks("daily_missing"):
            for pid, day, name, code in frame.itertuples(index=False, name=None):
                for column in md.CODED_COLUMNS[name]:
                    out[(pid, int(day), column)] = code
    return out


def _times(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")


def _plain(frame: pd.DataFrame, table: md.TableMeta, *, labelled: bool) -> tuple[pd.DataFrame, dict]:
    """Columns as the three formats store them; value labels when ``labelled``."""
    out, labels = {}, {}
    for v in table.variables:
        col = frame[v.name]
        if v.kind == "time":
            out[v.name] = _times(col)
        elif v.kind == "bool":
            out[v.name] = col.astype("Float64").astype(float)
            if labelled:
                labels[v.name] = {0: "no", 1: "yes"}
        elif v.kind in ("int", "float"):
            out[v.name] = col.astype("Float64").astype(float)
        elif labelled and v.codelist is not None:
            index = {value: i for i, value in enumerate(v.codelist.values, 1)}
            unknown = sorted(set(col.dropna()) - set(index))
            if unknown:
                raise FormatError(f"{table.name}.{v.name}: {unknown[0]!r} is not in the code list {v.codelist.oid}")
            out[v.name] = col.map(index).astype(float)
            labels[v.name] = {i: value for value, i in index.items()}
        else:
            out[v.name] = col.where(col.notna(), "").astype(str)
    return pd.DataFrame(out), labels


def check_xport(frame: pd.DataFrame, table: md.TableMeta) -> None:
    if not md.SAS_NAME.match(table.sas_name):
        raise FormatError(f"table {table.name}: the SAS name {table.sas_name!r} "
                          "does not match ^[A-Z_][A-Z0-9_]{0,7}$")
    if len(table.label) > md.SAS_LABEL_MAX:
        raise FormatError(f"table {table.name}: the label is {len(table.label)} characters, the limit is 40")
    for v in table.variables:
        where = f"{table.name}.{v.name}"
        if not md.SAS_NAME.match(v.sas_name):
            raise FormatError(f"{where}: the SAS name {v.sas_name!r} does not match ^[A-Z_][A-Z0-9_]{{0,7}}$")
        if len(v.label) > md.SAS_LABEL_MAX:
            raise FormatError(f"{where}: the label is {len(v.label)} characters, the limit is 40")
        if not v.label.isascii():
            raise FormatError(f"{where}: the label has non-ASCII characters (SAS XPORT v5 is ASCII)")
        if v.kind != "str":
            continue
        col = frame[v.name]
        for row, value in enumerate(col, 1):
            if not value.isascii():
                raise FormatError(f"{where} row {row}: the text has non-ASCII characters (SAS XPORT v5 is ASCII)")
            if len(value.encode()) > md.SAS_VALUE_MAX_BYTES:
                raise FormatError(f"{where} row {row}: the text is {len(value.encode())} bytes, the limit is 200")


def write_xport(source, out_dir: str | Path) -> list[Path]:
    import pyreadstat

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = md.study_metadata(source.manifest.blinded)
    prepared = []
    for name, table in meta.tables.items():  # every table checked before any file is written
        if source.has(name):
            frame, _ = _plain(_frame(source, name), table, labelled=False)
            check_xport(frame, table)
            prepared.append((table, frame))
    files = []
    for table, frame in prepared:
        frame = frame.rename(columns={v.name: v.sas_name for v in table.variables})
        path = out / f"{table.sas_name.lower()}.xpt"
        pyreadstat.write_xport(frame, str(path), file_label=table.label, table_name=table.sas_name,
                               column_labels=[v.label for v in table.variables], file_format_version=5,
                               variable_format={v.sas_name: "DATETIME20." for v in table.variables
                                                if v.kind == "time"})
        files.append(path)
    return files


def _stata_version(frame: pd.DataFrame, table: md.TableMeta) -> int:
    longest = max((len(value.encode()) for v in table.variables if v.kind == "str" and v.codelist is None
                   for value in frame[v.name]), default=0)
    return 12 if longest <= STATA_SHORT_STRING_BYTES else 15


def _with_codes(frame, table, codes, fmt: str):
    """Coded values of the daily table as the format's own missing values."""
    missing: dict[str, list] = {}
    if table.name != "daily":
        return frame, missing
    key = list(zip(frame["participant_id"], frame["study_day"].astype(int)))
    for v in table.variables:
        if not v.coded:
            continue
        # every codable column declares the codes, whether or not this export holds one
        missing[v.name] = (sorted(md.STATA_MISSING.values()) if fmt == "dta"
                           else sorted(md.SPSS_MISSING.values(), reverse=True))
        cells = [codes.get((pid, day, v.name)) for pid, day in key]
        if not any(cells):
            continue
        col = frame[v.name].astype(object)
        for i, code in enumerate(cells):
            if code:
                col.iat[i] = md.STATA_MISSING[code] if fmt == "dta" else float(md.SPSS_MISSING[code])
        frame[v.name] = col if fmt == "dta" else col.astype(float)
    return frame, missing


def write_stata_spss(source, out_dir: str | Path, fmt: str) -> list[Path]:
    """``fmt``: ``dta`` (Stata) or ``sav`` (SPSS)."""
    import pyreadstat

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = md.study_metadata(source.manifest.blinded)
    codes = _codes(source)
    files = []
    for name, table in meta.tables.items():
        if not source.has(name):
            continue
        raw = _frame(source, name)
        frame, labels = _plain(raw, table, labelled=True)
        frame, missing = _with_codes(frame, table, codes, fmt)
        column_labels = [v.label for v in table.variables]
        path = out / f"{name}.{fmt}"
        formats = {v.name: ("%tc" if fmt == "dta" else "DATETIME20") for v in table.variables if v.kind == "time"}
        if fmt == "dta":
            pyreadstat.write_dta(frame, str(path), file_label=table.label, column_labels=column_labels,
                                 version=_stata_version(frame, table), variable_value_labels=labels,
                                 missing_user_values=missing or None, variable_format=formats or None)
        else:
            for column in missing:
                labels[column] = {**labels.get(column, {}),
                                  **{float(n): c.replace("_", " ") for c, n in md.SPSS_MISSING.items()}}
            pyreadstat.write_sav(frame, str(path), file_label=table.label, column_labels=column_labels,
                                 variable_value_labels=labels, missing_ranges=missing or None,
                                 variable_format=formats or None)
        files.append(path)
    return files


def read_back(path: str | Path, table: md.TableMeta) -> tuple[pd.DataFrame, list[tuple]]:
    """A file written here as the table's values in the data set's text form (``None`` for missing) and the
    missing-data codes found in it as ``daily_missing`` rows; for the round-trip tests and for checking a
    delivered file."""
    import pyreadstat

    from .values import text

    path = Path(path)
    fmt = path.suffix[1:]
    if fmt == "xpt":
        frame, meta = pyreadstat.read_xport(str(path))
        frame = frame.rename(columns={v.sas_name: v.name for v in table.variables})
    elif fmt == "dta":
        frame, meta = pyreadstat.read_dta(str(path), user_missing=True)
    else:
        frame, meta = pyreadstat.read_sav(str(path), user_missing=True)
    value_labels = getattr(meta, "variable_value_labels", {}) or {}
    reverse_spss = {float(n): c for c, n in md.SPSS_MISSING.items()}
    reverse_stata = {letter: c for c, letter in md.STATA_MISSING.items()}
    found: dict[tuple, str] = {}
    columns = {}
    for v in table.variables:
        out: list = []
        for i, value in enumerate(frame[v.name]):
            code = None
            if fmt == "dta" and isinstance(value, str) and v.kind != "str":
                code = reverse_stata.get(value)
            elif fmt == "sav" and v.coded and isinstance(value, float) and value in reverse_spss:
                code = reverse_spss[value]
            if code is not None:
                found[(i, v.name)] = code
                out.append(None)
                continue
            if isinstance(value, float) and np.isnan(value) or value is None or value is pd.NaT:
                out.append(None)
            elif v.kind == "str":
                if fmt != "xpt" and v.codelist is not None and v.name in value_labels:
                    value = value_labels[v.name][int(value)]
                out.append(value or None)
            elif v.kind == "time":
                out.append(text(pd.Timestamp(value).tz_localize("UTC"), "time"))
            elif v.kind == "bool":
                out.append(text(bool(round(value)), "bool"))
            elif v.kind == "int":
                out.append(text(int(round(value)), "int"))
            else:
                out.append(text(float(value), "float"))
        columns[v.name] = out
    result = pd.DataFrame(columns)
    codes = []
    if table.name == "daily":
        for name in md.CODED_COLUMNS:
            first = md.CODED_COLUMNS[name][0]
            for (i, column), code in found.items():
                if column == first:
                    codes.append((result.at[i, "participant_id"], result.at[i, "study_day"], name, code))
    return result, sorted(codes)
