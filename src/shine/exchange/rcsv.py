"""CSV files and an R script that reads them with their types, factor levels and labels (base R only).

The CSVs are the analysis data set's canonical files, copied in blocks (the bytes the manifest's SHA-256
covers). ``read_shine.R`` defines ``read_shine(dir)``: a list of data frames, integers as integer, decimals
as double, booleans as logical, times as POSIXct in UTC, code-list columns as factors with the code list's
levels, each column with ``label`` (and ``units``) attributes; ``daily_missing$code`` says why a daily
value is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import metadata as md

R_TYPES = {"int": "as.integer(x)", "float": "as.numeric(x)", "bool": "as.logical(x)",
           "time": 'as.POSIXct(x, format = "%Y-%m-%dT%H:%M:%SZ", tz = "UTC")', "str": "x"}


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def r_script(meta: md.StudyMetadata, tables: list[str]) -> str:
    lines = [
        "# SHINE analysis data set: read the CSV files of a folder with types, factor levels and labels.",
        "# Usage: source(\"read_shine.R\"); shine <- read_shine(\"path/to/folder\"); str(shine$participants)",
        "# Missing values are NA; daily_missing gives the missing-data code of a coded daily value.",
        "read_shine <- function(dir = \".\") {",
        "  convert <- function(x, type, levels, label, units) {",
        "    x <- switch(type,",
        *[f"      {kind} = {expr}," for kind, expr in R_TYPES.items() if kind != "str"],
        "      x)",
        "    if (!is.null(levels)) {",
        "      bad <- setdiff(unique(x[!is.na(x)]), levels)",
        "      if (length(bad)) stop(\"value \", bad[1], \" is not in the code list (\", label, \")\")",
        "      x <- factor(x, levels = levels)",
        "    }",
        "    attr(x, \"label\") <- label",
        "    if (nzchar(units)) attr(x, \"units\") <- units",
        "    x",
        "  }",
        "  read_table <- function(name, spec) {",
        "    d <- utils::read.csv(file.path(dir, paste0(name, \".csv\")), colClasses = \"character\",",
        "                         na.strings = \"\", encoding = \"UTF-8\", check.names = FALSE)",
        "    if (!identical(names(d), names(spec))) stop(name, \".csv: columns do not match the codebook\")",
        "    for (col in names(spec)) {",
        "      s <- spec[[col]]",
        "      d[[col]] <- convert(d[[col]], s$type, s$levels, s$label, s$units)",
        "    }",
        "    attr(d, \"label\") <- attr(spec, \"label\")",
        "    d",
        "  }",
        "  specs <- list(",
    ]
    blocks = []
    for name in tables:
        table = meta.tables[name]
        cols = []
        for v in table.variables:
            levels = ("NULL" if v.codelist is None or v.kind != "str"
                      else "c(" + ", ".join(_r_string(x) for x in v.codelist.values) + ")")
            cols.append(f"      {v.name} = list(type = \"{v.kind}\", levels = {levels}, label = {_r_string(v.label)}, "
                        f"units = {_r_string(v.unit)})")
        blocks.append(f"    {name} = structure(list(\n" + ",\n".join(cols)
                      + f"\n    ), label = {_r_string(table.label)})")
    lines.append(",\n".join(blocks))
    lines += [
        "  )",
        f"  missing_codes <- c({', '.join(_r_string(c) for c, *_ in md.MISSING_CODE_LIST)})",
        "  if (!is.null(specs$daily_missing)) specs$daily_missing$code$levels <- missing_codes",
        "  out <- lapply(names(specs), function(n) read_table(n, specs[[n]]))",
        "  names(out) <- names(specs)",
        "  out",
        "}",
        "",
    ]
    return "\n".join(lines)


def write(source, out_dir: str | Path) -> list[Path]:
    """Copy the CSV files (a folder source) or write them (an in-memory one) and the R script."""
    from shine.analysis.schema import TABLES, to_csv_bytes

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = md.study_metadata(source.manifest.blinded)
    names = [n for n in meta.tables if source.has(n)]
    files = []
    for name in names:
        target = out / f"{name}.csv"
        folder = getattr(source, "path", None)
        if folder is not None:
            with open(Path(folder) / f"{name}.csv", "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            import pandas as pd

            target.write_bytes(to_csv_bytes(TABLES[name], pd.concat(list(source.chunks(name)), ignore_index=True)))
        files.append(target)
    script = out / "read_shine.R"
    script.write_text(r_script(meta, names), encoding="utf-8")
    return files + [script]
