"""The analysis data set (docs/data-model.md) from the database, streamed.

Participants are taken in chunks (``CHUNK`` at a time, in participant-id order) and each table is written
chunk by chunk with the schema's own formatter (:func:`shine.analysis.schema.to_csv_bytes`) into its CSV
and Parquet files, hashing as it goes: memory holds one chunk, not the trial. Every table's key starts
with ``participant_id`` (screening: ``screening_id``), so chunks in key order give the same bytes as
:func:`shine.analysis.schema.write_dataset` on the whole tables (tests/trial/reports/test_export.py proves
it). :func:`participant_dataset` gives the same rows for one participant as an in-memory
:class:`~shine.analysis.dataset.Dataset`, so the participant page derives its outcomes with
:mod:`shine.analysis.derive`, the analysis's own rules.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from django.utils import timezone

from shine import protocol as protocol_mod
from shine.analysis.dataset import Dataset
from shine.analysis.schema import SCHEMA_VERSION, TABLES, to_csv_bytes, to_typed_frame
from shine.trial.enrollment.models import Participant, Screening
from shine.trial.records.models import Baseline, DailyRecord, Death, Deviation, FollowUp, IcuStay, InfusionSegment

CHUNK = 200
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
ORDER = ("participants", "daily", "daily_missing", "icu_stays", "deaths", "infusion", "adverse_events", "followup",
         "deviations", "screening")
SCREENING_OUTCOMES = {"not_eligible": "not_eligible", "not_assessable": "not_assessable",
                      "eligible": "eligible_not_randomised", "eligible_not_randomised": "eligible_not_randomised",
                      "randomised": "randomised"}


def _utc(t: dt.datetime | None) -> dt.datetime | None:
    return None if t is None else t.astimezone(dt.UTC).replace(microsecond=0)


class _Redactor:
    """Free text of a blinded export must not name an arm or the drug (the loader refuses it)."""

    def __init__(self, blinded: bool):
        p = protocol_mod.load()
        words = sorted({w.lower() for w in (*p.arms, p.intervention.drug)})
        self.pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if blinded else None

    def __call__(self, text: str) -> str:
        if not text or self.pattern is None:
            return text
        return self.pattern.sub("[trial drug]", text)


# ---------------------------------------------------------------- rows of one chunk of participants

def _participant_rows(ids: list[int], arms: dict[str, str], cutoff: dt.datetime, redact) -> list[tuple]:
    from shine.analysis.schema import SOFA_COMPONENTS

    rows = []
    qs = (Participant.objects.filter(pk__in=ids).select_related("site", "screening")
          .order_by("number"))
    baselines = {b.participant_id: b for b in Baseline.objects.filter(participant_id__in=ids)}
    for p in qs:
        b = baselines.get(p.pk)
        s = p.screening
        # no baseline record: every baseline score is missing (empty), never 0; the analysis adjusts for a
        # missing baseline modified SOFA by the protocol's rule (missing_data.baseline_covariate)
        comps = {c: (getattr(b, f"sofa_{c}") if b else None) for c in SOFA_COMPONENTS}
        rows.append((
            p.number, p.site.code, arms.get(p.number, ""), p.randomisation_number, _utc(p.randomised_at),
            b.age if b else s.age, (b.sex if b else s.sex) or None,
            b.weight_kg if b else p.weight_kg, b.weight_estimated if b else p.weight_estimated,
            b.site_of_infection if b else "unknown", s.lactate_mmol_l, s.stm_ng_ml,
            *comps.values(), b.sofa_modified if b else None, bool(p.use_data_collected)))
    return rows


def _daily_rows(ids, cutoff, redact) -> list[tuple]:
    cols = [c for c in TABLES["daily"].column_names if c not in ("participant_id",)]
    return [(r[0], *r[1:]) for r in DailyRecord.objects.filter(participant_id__in=ids)
            .order_by("participant__number", "study_day").values_list("participant__number", *cols)]


def _daily_missing_rows(ids, cutoff, redact) -> list[tuple]:
    """The missing-data code of each coded input (docs/data-model.md), in key order."""
    out = []
    for pid, day, codes in (DailyRecord.objects.filter(participant_id__in=ids).exclude(codes={})
                            .order_by("participant__number", "study_day")
                            .values_list("participant__number", "study_day", "codes")):
        out += [(pid, day, name, codes[name]) for name in sorted(codes)]
    return out


def _stay_rows(ids, cutoff, redact) -> list[tuple]:
    out = []
    for pid, stay, adm, dis, how in (IcuStay.objects.filter(participant_id__in=ids, admitted_at__lte=cutoff)
                                     .values_list("participant__number", "stay", "admitted_at", "discharged_at",
                                                  "discharge")):
        if dis is not None and dis > cutoff:
            dis, how = None, "in_icu"
        out.append((pid, stay, _utc(adm), _utc(dis), how))
    return out


def _death_rows(ids, cutoff, redact) -> list[tuple]:
    return [(pid, _utc(at), redact(cause)) for pid, at, cause in
            Death.objects.filter(participant_id__in=ids, died_at__lte=cutoff)
            .values_list("participant__number", "died_at", "cause")]


def _infusion_rows(ids, cutoff, redact) -> list[tuple]:
    out = []
    for pid, seg, a, b, rate, conc, why in (
            InfusionSegment.objects.filter(participant_id__in=ids, started_at__lt=cutoff)
            .values_list("participant__number", "segment", "started_at", "stopped_at", "rate_ml_per_h",
                         "concentration_ng_per_ml", "stop_reason")):
        if b is None or b > cutoff:  # still running at the cut-off: counted up to it
            b, why = _utc(cutoff), ""
        if _utc(b) <= _utc(a):
            continue
        out.append((pid, seg, _utc(a), _utc(b), rate, conc, why or None))
    return out


def _adverse_event_rows(ids, cutoff, redact) -> list[tuple]:
    """One row per safety case, as known at the cut-off (shine.trial.safety.export)."""
    from shine.trial.safety.export import adverse_event_rows

    return adverse_event_rows(ids, cutoff, redact)


def _followup_rows(ids, cutoff, redact) -> list[tuple]:
    cols = ("visit_day", "assessed_at", "vital_status", "eq5d_mobility", "eq5d_selfcare", "eq5d_activities",
            "eq5d_pain", "eq5d_anxiety", "eq5d_vas")
    return [(r[0], r[1], _utc(r[2]), *r[3:]) for r in
            FollowUp.objects.filter(participant_id__in=ids, assessed_at__lte=cutoff)
            .values_list("participant__number", *cols)]


def _deviation_rows(ids, cutoff, redact) -> list[tuple]:
    return [(pid, f"DEV-{n}", cat, major, redact(text)) for pid, n, cat, major, text in
            Deviation.objects.filter(participant_id__in=ids, entered_at__lte=cutoff)
            .values_list("participant__number", "number", "category", "major", "description")]


BUILDERS = {"daily": _daily_rows, "daily_missing": _daily_missing_rows, "icu_stays": _stay_rows, "deaths": _death_rows,
            "infusion": _infusion_rows,
            "adverse_events": _adverse_event_rows, "followup": _followup_rows, "deviations": _deviation_rows}


def _screening_rows(pks: list[int], cutoff, redact) -> list[tuple]:
    out = []
    numbers = dict(Participant.objects.filter(screening_id__in=pks, randomised_at__lte=cutoff)
                   .values_list("screening_id", "number"))
    for s in Screening.objects.filter(pk__in=pks).select_related("site"):
        number = numbers.get(s.pk)
        outcome = SCREENING_OUTCOMES[s.outcome]
        if outcome == "randomised" and number is None:
            outcome = "eligible_not_randomised"
        if outcome == "eligible_not_randomised":
            reasons = s.not_randomised_reason or "awaiting_decision"
        elif outcome == "randomised":
            reasons = ""
        else:
            reasons = s.reasons
        out.append((f"S-{s.pk}", s.site.code, _utc(s.screened_at), outcome, redact(reasons),
                    number if outcome == "randomised" else None))
    return out


# ---------------------------------------------------------------- the streamed writer

class _TableWriter:
    def __init__(self, out: Path, name: str, parquet: bool):
        self.table = TABLES[name]
        self.csv = open(out / f"{name}.csv", "wb")
        self.sha = hashlib.sha256()
        self.rows = 0
        self.parquet_path = out / f"{name}.parquet" if parquet else None
        self.pq_writer = None
        self.schema = None
        self.header_written = False

    def write(self, rows: list[tuple]) -> None:
        if not rows and self.header_written:
            return
        frame = pd.DataFrame.from_records(rows, columns=list(self.table.column_names)) if rows else \
            pd.DataFrame({c: pd.Series([], dtype=object) for c in self.table.column_names})
        data = to_csv_bytes(self.table, frame)
        body = data if not self.header_written else data.split(b"\n", 1)[1]
        self.csv.write(body)
        self.sha.update(body)
        self.header_written = True
        self.rows += len(rows)
        if self.parquet_path is not None:
            arrow = pa.Table.from_pandas(to_typed_frame(self.table, data), preserve_index=False)
            if self.pq_writer is None:
                self.schema = arrow.schema
                self.pq_writer = pq.ParquetWriter(self.parquet_path, self.schema)
            if rows or self.rows == 0:
                self.pq_writer.write_table(arrow.cast(self.schema))

    def close(self) -> dict:
        self.csv.close()
        if self.pq_writer is not None:
            self.pq_writer.close()
        return {"rows": self.rows, "sha256": self.sha.hexdigest()}


@dataclass(frozen=True)
class ExportResult:
    path: Path
    blinded: bool
    data_cutoff: str
    rows: dict

    def summary(self) -> str:
        counts = ", ".join(f"{k} {v}" for k, v in self.rows.items())
        return f"analysis data set ({'blinded' if self.blinded else 'unblinded'}, cut-off {self.data_cutoff}) " \
               f"written to {self.path}: {counts}"


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def write_export(out_dir: str | Path, *, arms_for, blinded: bool, cutoff: dt.datetime | None = None,
                 chunk: int = CHUNK, parquet: bool = True) -> ExportResult:
    """Write the data set of every randomised participant into ``out_dir``.

    ``arms_for(numbers: set[str]) -> {number: arm or A/B}`` gives the arm column (see :mod:`.arms`).
    ``cutoff`` (default now): data after it are left out, ICU stays open then are ``in_icu``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cutoff = cutoff or timezone.now()  # rows up to this instant; written to the second
    redact = _Redactor(blinded)
    # participant order is the key order of every table: sort the (small) list of numbers in Python
    people = sorted(Participant.objects.filter(randomised_at__isnull=False, randomised_at__lte=cutoff)
                    .values_list("number", "pk").iterator(chunk_size=2000))
    ids = [pk for _, pk in people]
    manifest_tables = {}
    writers = {name: _TableWriter(out, name, parquet) for name in ORDER}
    try:
        for numbers_ids in _chunks(people, chunk):
            chunk_ids = [pk for _, pk in numbers_ids]
            arms = arms_for({n for n, _ in numbers_ids})
            writers["participants"].write(_participant_rows(chunk_ids, arms, cutoff, redact))
        for name, build in BUILDERS.items():
            for chunk_ids in _chunks(ids, chunk):
                writers[name].write(build(chunk_ids, cutoff, redact))
        screenings = sorted((f"S-{pk}", pk) for pk in
                            Screening.objects.filter(screened_at__lte=cutoff).values_list("pk", flat=True)
                            .iterator(chunk_size=5000))
        for part in _chunks([pk for _, pk in screenings], chunk * 5):
            writers["screening"].write(_screening_rows(part, cutoff, redact))
        for name in ORDER:
            writers[name].write([])  # a header even for an empty table
    finally:
        for name in sorted(writers):
            manifest_tables[name] = writers[name].close()
    cutoff_text = _utc(cutoff).strftime(TIME_FORMAT)
    manifest = {"schema_version": SCHEMA_VERSION, "trial": "SHINE", "blinded": blinded, "source": "export",
                "data_cutoff": cutoff_text, "tables": manifest_tables}
    (out / "dataset.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return ExportResult(out, blinded, cutoff_text, {k: v["rows"] for k, v in manifest_tables.items()})


# ---------------------------------------------------------------- one participant, in memory

def participant_dataset(participant: Participant, *, cutoff: dt.datetime | None = None) -> Dataset:
    """The participant's rows of the data set (arm left out) loaded and validated by
    :func:`shine.analysis.dataset.load`, for the derivations of the participant page.
    Raises :class:`~shine.analysis.dataset.DatasetError` when the rows break the contract."""
    import tempfile

    from shine.analysis.dataset import load
    from shine.analysis.schema import write_dataset

    cutoff = cutoff or timezone.now()
    redact = _Redactor(False)
    ids = [participant.pk]
    proto = protocol_mod.load()
    rows = {"participants": _participant_rows(ids, {participant.number: proto.control_arm}, cutoff, redact)}
    for name, build in BUILDERS.items():
        rows[name] = build(ids, cutoff, redact)
    frames = {name: pd.DataFrame.from_records(data, columns=list(TABLES[name].column_names)) if data else
              pd.DataFrame({c: pd.Series([], dtype=object) for c in TABLES[name].column_names})
              for name, data in rows.items()}
    with tempfile.TemporaryDirectory(prefix="shine-participant-") as tmp:
        write_dataset(frames, tmp, blinded=False, source="export", data_cutoff=_utc(cutoff).strftime(TIME_FORMAT),
                      parquet=False)
        return load(tmp)


__all__ = ["write_export", "participant_dataset", "ExportResult"]
