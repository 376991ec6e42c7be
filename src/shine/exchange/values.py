"""Cell values as text, the same way in every text format (the analysis data set's canonical CSV text)."""

from __future__ import annotations

import math

import pandas as pd

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def text(value, kind: str) -> str | None:
    """The value as the CSV holds it, ``None`` for missing."""
    if is_missing(value):
        return None
    if kind == "time":
        return pd.Timestamp(value).tz_convert("UTC").strftime(TIME_FORMAT)
    if kind == "bool":
        return "true" if bool(value) else "false"
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return repr(round(float(value), 6))
    return str(value)
