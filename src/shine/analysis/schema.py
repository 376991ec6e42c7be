"""The analysis data set's tables in code: columns, types, keys (the contract of docs/data-model.md).

The export, the simulator and the analysis use these definitions and :func:`write_dataset`, so the same
tables always give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from shine.clinical.sofa import COMPONENTS
from shine.i18n import _, decimal

SCHEMA_VERSION = 1

SOFA_INPUTS = (
    "pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "dopamine", "dobutamine",
    "epinephrine", "norepinephrine", "gcs", "creatinine", "urine_output",
)
SOFA_COMPONENTS = COMPONENTS  # the clinical core's, in its order
BLINDED_ARM_CODES = ("A", "B")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "str", "int", "float", "bool", "time"
    required: bool = True  # False: the value may be empty
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    optional: bool = False  # the whole table may be absent

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _c(name, kind, required=True, low=None, high=None, choices=None) -> Column:
    return Column(name, kind, required, low, high, tuple(choices) if choices else None)


SITES_OF_INFECTION = ("pulmonary", "abdominal", "urinary", "skin_soft_tissue", "bloodstream", "cns", "other",
                      "unknown")
STOP_REASONS = ("planned_end", "interrupted", "rate_change", "adverse_event", "death", "discharge", "other")
VITAL_STATUSES = ("alive", "dead", "unknown")
DEVIATION_CATEGORIES = ("eligibility", "consent", "randomisation", "intervention", "data_collection", "other")
SCREENING_OUTCOMES = ("not_eligible", "eligible_not_randomised", "randomised", "not_assessable")

PARTICIPANTS = Table("participants", ("participant_id",), (
    _c("participant_id", "str"),
    _c("site", "str"),
    _c("arm", "str"),
    _c("randomisation_number", "int", low=1),
    _c("randomised_at", "time"),
    _c("age", "int", low=18, high=110),
    _c("sex", "str", choices=("F", "M")),
    _c("weight_kg", "float", low=30, high=300),
    _c("weight_estimated", "bool"),
    _c("site_of_infection", "str", choices=SITES_OF_INFECTION),
    _c("lactate_mmol_l", "float", False, 0, 30),
    _c("stm_ng_ml", "float", False, 0, 200),
    *(_c(f"baseline_sofa_{comp}", "int", False, 0, 4) for comp in SOFA_COMPONENTS),
    # empty without a baseline record or when a non-CNS component is missing (protocol [missing_data])
    _c("baseline_sofa_modified", "int", False, 0, 20),
    _c("data_use_consent", "bool"),
))

DAILY = Table("daily", ("participant_id", "study_day"), (
    _c("participant_id", "str"),
    _c("study_day", "int", low=1, high=90),
    _c("pao2_fio2", "float", False, 0, 800),
    _c("respiratory_support", "bool", False),
    _c("platelets", "float", False, 0, 2000),
    _c("bilirubin", "float", False, 0, 1000),
    _c("map_mmhg", "float", False, 0, 300),
    _c("dopamine", "float", False, 0, 50),
    _c("dobutamine", "float", False, 0, 50),
    _c("epinephrine", "float", False, 0, 5),
    _c("norepinephrine", "float", False, 0, 5),
    _c("gcs", "int", False, 3, 15),
    _c("creatinine", "float", False, 0, 3000),
    _c("urine_output", "float", False, 0, 20000),
    _c("vasopressor", "bool", False),
    _c("mechanical_ventilation", "bool", False),
    _c("rrt", "bool", False),
))

ICU_STAYS = Table("icu_stays", ("participant_id", "stay"), (
    _c("participant_id", "str"),
    _c("stay", "int", low=1),
    _c("admitted_at", "time"),
    _c("discharged_at", "time", False),
    _c("discharge", "str", choices=("discharged", "died", "in_icu")),
))

DEATHS = Table("deaths", ("participant_id",), (
    _c("participant_id", "str"),
    _c("died_at", "time"),
    _c("cause", "str", False),
))

INFUSION = Table("infusion", ("participant_id", "segment"), (
    _c("participant_id", "str"),
    _c("segment", "int", low=1),
    _c("started_at", "time"),
    _c("stopped_at", "time"),
    _c("rate_ml_per_h", "float", low=0, high=50),
    _c("concentration_ng_per_ml", "float", low=0),
    _c("stop_reason", "str", False, choices=STOP_REASONS),
))

ADVERSE_EVENTS = Table("adverse_events", ("participant_id", "event_id"), (
    _c("participant_id", "str"),
    _c("event_id", "str"),
    _c("onset_at", "time"),
    _c("term", "str"),
    _c("prespecified", "str", False),
    _c("serious", "bool"),
    _c("related", "bool"),
    _c("expected", "bool", False),  # empty until the sponsor has assessed expectedness
), optional=True)  # absent: no safety data were captured, and the safety outcomes are refused (never zero)

FOLLOWUP = Table("followup", ("participant_id", "visit_day"), (
    _c("participant_id", "str"),
    _c("visit_day", "int", choices=None, low=28, high=90),
    _c("assessed_at", "time"),
    _c("vital_status", "str", choices=VITAL_STATUSES),
    *(_c(f"eq5d_{d}", "int", False, 1, 5) for d in ("mobility", "selfcare", "activities", "pain", "anxiety")),
    _c("eq5d_vas", "int", False, 0, 100),
))

DEVIATIONS = Table("deviations", ("participant_id", "deviation_id"), (
    _c("participant_id", "str"),
    _c("deviation_id", "str"),
    _c("category", "str", choices=DEVIATION_CATEGORIES),
    _c("major", "bool"),
    _c("description", "str", False),
))

# Missing-data codes (docs/data-model.md): a captured field holds a value, or one of these codes, or nothing yet
# (not entered). A coded value is missing in its table; the code says why.
MISSING_CODES = ("not_done", "unknown", "not_applicable")
# The captured inputs of a daily record that can carry a code: the daily table's columns, and
# ``vasopressor_doses`` for the four dose columns together.
CODED_INPUTS = ("pao2_fio2", "respiratory_support", "platelets", "bilirubin", "map_mmhg", "vasopressor",
                "vasopressor_doses", "gcs", "creatinine", "urine_output", "mechanical_ventilation", "rrt")

DAILY_MISSING = Table("daily_missing", ("participant_id", "study_day", "input"), (
    _c("participant_id", "str"),
    _c("study_day", "int", low=1, high=90),
    _c("input", "str", choices=CODED_INPUTS),
    _c("code", "str", choices=MISSING_CODES),
), optional=True)

SCREENING = Table("screening", ("screening_id",), (
    _c("screening_id", "str"),
    _c("site", "str"),
    _c("screened_at", "time"),
    _c("outcome", "str", choices=SCREENING_OUTCOMES),
    _c("reasons", "str", False),
    _c("participant_id", "str", False),
), optional=True)

TABLES: dict[str, Table] = {t.name: t for t in (
    PARTICIPANTS, DAILY, ICU_STAYS, DEATHS, INFUSION, ADVERSE_EVENTS, FOLLOWUP, DEVIATIONS, SCREENING,
    DAILY_MISSING)}


def _bool_text(value) -> str:
    if pd.isna(value):
        return ""
    if isinstance(value, str):
        if value.lower() not in ("true", "false"):
            raise ValueError(_("boolean value must be true or false, got %(value)s") % {
                "value": decimal(value, "r")})
        return value.lower()
    return "true" if bool(value) else "false"


def _format_column(series: pd.Series, kind: str) -> pd.Series:
    """Values as the exact text the CSV holds (empty string for missing)."""
    missing = series.isna()
    if kind == "time":
        t = pd.to_datetime(series, utc=True)
        out = t.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif kind == "bool":
        out = series.map(_bool_text)
    elif kind == "int":
        out = series.map(lambda v: "" if pd.isna(v) else str(int(v)))
    elif kind == "float":
        out = series.map(lambda v: "" if pd.isna(v) else repr(round(float(v), 6)))
    else:
        out = series.astype(object).map(str)
    return out.where(~missing, "")


def to_csv_bytes(table: Table, frame: pd.DataFrame) -> bytes:
    """The canonical CSV of one table: the schema's columns in order, sorted by key."""
    unknown = set(frame.columns) - set(table.column_names)
    absent = set(table.column_names) - set(frame.columns)
    if unknown or absent:
        raise ValueError(_("%(name)s: columns do not match the schema (unexpected: %(value)s, missing: %(value2)s)") % {
            "name": table.name, "value": decimal(sorted(unknown), ""), "value2": decimal(sorted(absent), "")})
    frame = frame.sort_values(list(table.key), kind="mergesort").reset_index(drop=True)
    text = pd.DataFrame({c.name: _format_column(frame[c.name], c.kind) for c in table.columns})
    return text.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _typed_column(text: pd.Series, kind: str) -> pd.Series:
    """The CSV text of one column as a typed pandas column (missing values as nulls)."""
    empty = text == ""
    if kind == "time":
        return pd.to_datetime(text.where(~empty, None), format="%Y-%m-%dT%H:%M:%SZ", utc=True).astype(
            "datetime64[s, UTC]")
    if kind == "bool":
        return text.map({"true": True, "false": False}).astype("boolean")
    if kind == "int":
        return pd.to_numeric(text.where(~empty, None)).astype("Int64")
    if kind == "float":
        return pd.to_numeric(text.where(~empty, None)).astype("float64")
    return text.where(~empty, None).astype("string")


def to_typed_frame(table: Table, csv_bytes: bytes) -> pd.DataFrame:
    """The canonical CSV of a table read back with the schema's types (the Parquet copy's content)."""
    import io

    text = pd.read_csv(io.BytesIO(csv_bytes), dtype=str, keep_default_na=False)
    return pd.DataFrame({c.name: _typed_column(text[c.name], c.kind) for c in table.columns})


def write_dataset(frames: dict[str, pd.DataFrame], out_dir: str | Path, *, blinded: bool, source: str,
                  data_cutoff: str | None = None, extra: dict | None = None, parquet: bool = True) -> Path:
    """Write the tables of the analysis data set and its manifest ``dataset.json`` into ``out_dir``.

    ``frames`` maps table names to frames with exactly the schema's columns; every required table must be
    present. The Parquet copies hold the same values with typed columns (int64, float64, bool, UTC
    timestamps to the second, strings; nullable). Returns the folder.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    missing = [t.name for t in TABLES.values() if not t.optional and t.name not in frames]
    if missing:
        raise ValueError(_("missing tables: %(items)s") % {"items": ', '.join(missing)})
    unknown = sorted(set(frames) - set(TABLES))
    if unknown:
        raise ValueError(_("unknown tables: %(items)s; known: %(items2)s") % {
            "items": ', '.join(unknown), "items2": ', '.join(TABLES)})
    manifest: dict = {"schema_version": SCHEMA_VERSION, "trial": "SHINE", "blinded": blinded, "source": source,
                      "data_cutoff": data_cutoff, "tables": {}}
    for name in sorted(frames):
        table = TABLES[name]
        data = to_csv_bytes(table, frames[name])
        (out / f"{name}.csv").write_bytes(data)
        if parquet:
            to_typed_frame(table, data).to_parquet(out / f"{name}.parquet", index=False)
        manifest["tables"][name] = {"rows": int(len(frames[name])), "sha256": hashlib.sha256(data).hexdigest()}
    if extra:
        manifest.update(extra)
    (out / "dataset.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out
