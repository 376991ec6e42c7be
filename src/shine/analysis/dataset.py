"""Load the analysis data set (docs/data-model.md) and refuse a broken one with every problem found.

``load(path)`` reads each table's CSV (or its Parquet copy where no CSV is present), checks types, required
values, ranges, choices, keys, foreign keys, date order and the blinding rules, and returns a
:class:`Dataset` of typed frames. Anything wrong raises :class:`DatasetError`, whose ``problems`` list
every finding (table, row, column, rule), not just the first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from shine import protocol as protocol_module
from shine.analysis.schema import BLINDED_ARM_CODES, SCHEMA_VERSION, SOFA_COMPONENTS, TABLES, Table, _format_column
from shine.i18n import _, decimal, ngettext

DAY = pd.Timedelta(hours=24)
_INT = re.compile(r"^-?[0-9]+$")
_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
MESSAGE_LINES = 50  # problems shown in the exception text; all are in ``problems``


@dataclass(frozen=True)
class Problem:
    """One violated rule. ``row`` is the 1-based data row of the file (header not counted)."""

    table: str
    row: int | None
    column: str | None
    rule: str

    def __str__(self) -> str:
        where = self.table
        if self.row is not None:
            where = _("%(table)s row %(row)s") % {"table": where, "row": self.row}
        if self.column:
            where += f", {self.column}"
        return f"{where}: {self.rule}"


class DatasetError(ValueError):
    """The data set breaks the contract; ``problems`` holds every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = tuple(problems)
        lines = [str(p) for p in self.problems[:MESSAGE_LINES]]
        more = len(self.problems) - len(lines)
        if more:
            lines.append(_("... and %(more)s more") % {"more": more})
        count = len(self.problems)
        super().__init__(ngettext("%(count)s problem in the analysis data set:",
                                  "%(count)s problems in the analysis data set:", count) % {"count": count}
                         + "\n" + "\n".join(lines))


@dataclass(frozen=True)
class Dataset:
    """A validated analysis data set.

    ``tables`` maps table names to typed frames: times as UTC timestamps, ``int`` columns as ``Int64``,
    ``float`` as ``float64``, ``bool`` as ``boolean`` (missing = ``<NA>``), strings as ``str`` with ``""``
    for missing. ``sha256`` fingerprints the files read (manifest and tables). ``blinded`` is True when the
    arms are coded ``A``/``B``.
    """

    path: Path
    manifest: Mapping
    blinded: bool
    data_cutoff: pd.Timestamp | None
    sha256: str
    tables: Mapping[str, pd.DataFrame] = field(repr=False)
    recoded: bool = False  # True when an unblinded data set was recoded to A/B for a blinded analysis
    files: Mapping[str, str] = field(default_factory=dict)  # every file read (name → SHA-256 of its bytes)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def has(self, name: str) -> bool:
        return name in self.tables

    @property
    def groups(self) -> tuple[str, str]:
        """The two arm labels, the contrast's first minus its second: (active, control) or ("A", "B")."""
        if self.blinded:
            return BLINDED_ARM_CODES
        return protocol_module.load().arms

    def blind(self, secret: bytes | None = None) -> Dataset:
        """The same data with the arms recoded to A/B, for a report by coded group.

        Which arm becomes A is decided by an HMAC-SHA-256 of the allocation under ``secret`` (deterministic,
        so re-runs agree) and is written nowhere. Without a secret the data set's own fingerprint is the
        key: someone who holds every other column of the data (e.g. a blinded export of the same trial)
        could then test both possible allocations against the coded results, so pass a secret when the
        coded report leaves the unblinded team. ``sha256`` becomes the arm-masked fingerprint
        (:func:`masked_fingerprint`), which no allocation changes.
        """
        if self.blinded:
            return self
        participants = self.tables["participants"]
        key = secret if secret is not None else self.sha256.encode()
        code = arm_code_map(zip(participants["participant_id"], participants["arm"]), key)
        tables = dict(self.tables)
        tables["participants"] = participants.assign(arm=participants["arm"].map(code))
        manifest = {k: v for k, v in self.manifest.items() if k not in ("tables", "simulation")}
        manifest["blinded"] = True
        return replace(self, tables=MappingProxyType(tables), manifest=MappingProxyType(manifest), blinded=True,
                       recoded=True, sha256=masked_fingerprint(self), files=MappingProxyType({}))


def arm_code_map(allocation, key: bytes) -> dict[str, str]:
    """Arm → "A"/"B" for an allocation given as (participant id, arm) pairs, keyed with ``key``.

    The lowest bit of the first byte of HMAC-SHA-256 over ``"arm-code\n" + "pid:arm\n…"`` (participants in
    id order) decides which arm is A: deterministic for the same allocation and key, so the platform's
    blinded export and :meth:`Dataset.blind` give the same labels.
    """
    import hmac

    active, control = protocol_module.load().arms
    text = "\n".join(f"{pid}:{arm}" for pid, arm in sorted(allocation))
    digest = hmac.new(key, ("arm-code\n" + text).encode(), hashlib.sha256).digest()
    return {active: "A", control: "B"} if digest[0] % 2 == 0 else {active: "B", control: "A"}


def masked_fingerprint(data: Dataset) -> str:
    """SHA-256 of the data set with the participants' ``arm`` column emptied: identical for the blinded
    and unblinded versions of the same data, so it identifies the input without hinting at the allocation."""
    from shine.analysis.schema import to_csv_bytes

    h = hashlib.sha256()
    meta = {k: data.manifest.get(k) for k in ("schema_version", "trial", "source", "data_cutoff")}
    h.update(b"manifest\0" + json.dumps(meta, sort_keys=True).encode())
    for name in sorted(data.tables):
        frame = data.tables[name]
        if name == "participants":
            frame = frame.assign(arm="")
        h.update(name.encode() + b"\0" + hashlib.sha256(to_csv_bytes(TABLES[name], frame)).digest())
    return h.hexdigest()


def _read_text(path: Path, table: Table) -> tuple[pd.DataFrame, bytes, str]:
    """The table as text cells ("" for missing), the bytes read and the file name."""
    csv = path / f"{table.name}.csv"
    if csv.exists():
        data = csv.read_bytes()
        import io

        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False)
        return frame, data, csv.name
    pq = path / f"{table.name}.parquet"
    data = pq.read_bytes()
    frame = pd.read_parquet(pq)
    text = {}
    for name in frame.columns:
        col = frame[name]
        kind = table.column(name).kind if name in table.column_names else "str"
        if pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col):
            text[name] = col.astype(object).where(col.notna(), "").map(str)
        else:
            try:
                text[name] = _format_column(col, kind)
            except (ValueError, TypeError):
                text[name] = col.astype(object).where(col.notna(), "").map(str)
    return pd.DataFrame(text, columns=list(frame.columns)), data, pq.name


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, table: str, row: int | None, column: str | None, rule: str) -> None:
        self.problems.append(Problem(table, row, column, rule))

    def rows(self, table: str, frame: pd.DataFrame, mask, column: str | None, rule) -> None:
        """One problem per row where ``mask`` holds; ``rule`` may be a function of the row's index."""
        mask = np.asarray(mask, dtype=bool)
        for idx in np.flatnonzero(mask):
            text = rule(frame.index[idx]) if callable(rule) else rule
            self.add(table, int(frame.index[idx]) + 1, column, text)


def _limits(col) -> str:
    if col.low is not None and col.high is not None:
        return _("%(low)s to %(high)s") % {"low": decimal(col.low), "high": decimal(col.high)}
    if col.low is not None:
        return _("at least %(low)s") % {"low": decimal(col.low)}
    return _("at most %(high)s") % {"high": decimal(col.high)}


def _typed(check: _Checker, table: Table, text: pd.DataFrame) -> pd.DataFrame:
    """Check every cell of ``text`` against its column and return typed columns (bad cells missing)."""
    out = {}
    for col in table.columns:
        if col.name not in text.columns:
            continue
        s = text[col.name].astype(str)
        empty = (s == "").to_numpy()
        if col.required:
            check.rows(table.name, text, empty, col.name, _("required value is empty"))
        if col.kind == "int":
            ok = s.str.match(_INT).to_numpy() | empty
            check.rows(table.name, text, ~ok, col.name, lambda i, s=s: _("not an integer: %(value)s") % {
                "value": decimal(s[i], "r")})
            values = pd.to_numeric(s.where(ok & ~empty, None), errors="coerce").astype("Int64")
        elif col.kind == "float":
            num = pd.to_numeric(s.where(~empty, None), errors="coerce")
            ok = empty | np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))
            check.rows(table.name, text, ~ok, col.name, lambda i, s=s: _("not a finite number: %(value)s") % {
                "value": decimal(s[i], "r")})
            values = num.where(ok).astype("float64")
        elif col.kind == "bool":
            ok = s.isin(["true", "false"]).to_numpy() | empty
            check.rows(table.name, text, ~ok, col.name, lambda i, s=s: _("not true/false: %(value)s") % {
                "value": decimal(s[i], "r")})
            values = s.map({"true": True, "false": False}).astype("boolean")
        elif col.kind == "time":
            ok = s.str.match(_TIME).to_numpy()
            parsed = pd.to_datetime(s.where(ok, None), format="%Y-%m-%dT%H:%M:%SZ", utc=True, errors="coerce")
            ok = ok & parsed.notna().to_numpy()
            check.rows(table.name, text, ~ok & ~empty, col.name,
                       lambda i, s=s: _("not an ISO 8601 UTC time like 2021-03-04T05:06:07Z: %(value)s") % {
                           "value": decimal(s[i], "r")})
            values = parsed.where(ok)
        else:
            values = s
            if col.choices:
                bad = ~s.isin(col.choices).to_numpy() & ~empty
                check.rows(table.name, text, bad, col.name,
                           lambda i, s=s, c=col.choices: _("%(value)s is not one of %(items)s") % {
                               "value": decimal(s[i], "r"), "items": ', '.join(c)})
        if col.kind in ("int", "float") and (col.low is not None or col.high is not None):
            v = values.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad = np.zeros(len(v), bool)
                if col.low is not None:
                    bad |= v < col.low
                if col.high is not None:
                    bad |= v > col.high
            check.rows(table.name, text, bad, col.name,
                       lambda i, v=v, c=col: _("%(value)s is outside %(value2)s") % {
                           "value": decimal(v[text.index.get_loc(i)]), "value2": decimal(_limits(c), "")})
            values = values.where(~bad)
        out[col.name] = values
    return pd.DataFrame(out, index=text.index)


def _check_keys(check: _Checker, table: Table, frame: pd.DataFrame) -> None:
    key = list(table.key)
    if not all(k in frame.columns for k in key):
        return
    keys = frame[key]
    complete = keys.notna().all(axis=1) & (keys.astype(str) != "").all(axis=1)
    dup = keys.duplicated(keep=False) & complete
    check.rows(table.name, frame, dup, ", ".join(key),
               lambda i: _("duplicate key %(key)s") % {"key": ", ".join(str(keys.at[i, k]) for k in key)})


def _manifest(check: _Checker, path: Path) -> tuple[dict, bytes]:
    file = path / "dataset.json"
    if not file.exists():
        check.add("dataset.json", None, None, _("file is missing"))
        return {}, b""
    data = file.read_bytes()
    try:
        manifest = json.loads(data)
    except ValueError as exc:
        check.add("dataset.json", None, None, _("not valid JSON (%(exc)s)") % {"exc": exc})
        return {}, data
    if not isinstance(manifest, dict):
        check.add("dataset.json", None, None, _("must be a JSON object"))
        return {}, data
    if manifest.get("schema_version") != SCHEMA_VERSION:
        check.add("dataset.json", None, "schema_version",
                  _("must be %(schema_version)s, got %(value)s") % {
                      "schema_version": decimal(SCHEMA_VERSION, ""),
                      "value": decimal(manifest.get('schema_version'), "r")})
    if not isinstance(manifest.get("blinded"), bool):
        check.add("dataset.json", None, "blinded", _("must be true or false"))
    if manifest.get("source") not in ("export", "simulation"):
        check.add("dataset.json", None, "source", _("must be export or simulation, got %(value)s") % {
            "value": decimal(manifest.get('source'), "r")})
    cutoff = manifest.get("data_cutoff")
    if cutoff is not None and not (isinstance(cutoff, str) and _TIME.match(cutoff)):
        check.add("dataset.json", None, "data_cutoff", _("must be empty or a time like 2024-01-31T00:00:00Z, got "
                                                         "%(cutoff)s") % {"cutoff": decimal(cutoff, "r")})
    if not isinstance(manifest.get("tables"), dict):
        check.add("dataset.json", None, "tables", _("must map table names to rows and sha256"))
        manifest["tables"] = {}
    for name in manifest["tables"]:
        if name not in TABLES:
            check.add("dataset.json", None, "tables", _("unknown table %(name)s") % {"name": decimal(name, "r")})
    return manifest, data


def load(path: str | Path) -> Dataset:
    """Read and validate the data set in folder ``path``; raise :class:`DatasetError` listing every problem."""
    path = Path(path)
    if not path.is_dir():
        raise DatasetError([Problem("dataset", None, None, _("%(path)s is not a folder") % {"path": path})])
    proto = protocol_module.load()
    check = _Checker()
    manifest, manifest_bytes = _manifest(check, path)
    blinded = bool(manifest.get("blinded", False))
    cutoff_text = manifest.get("data_cutoff")
    cutoff = pd.Timestamp(cutoff_text) if isinstance(cutoff_text, str) and _TIME.match(cutoff_text) else None

    fingerprint = hashlib.sha256()
    fingerprint.update(b"dataset.json\0" + hashlib.sha256(manifest_bytes).digest())
    texts: dict[str, pd.DataFrame] = {}
    frames: dict[str, pd.DataFrame] = {}
    files = {"dataset.json": hashlib.sha256(manifest_bytes).hexdigest()}
    for table in TABLES.values():
        if not (path / f"{table.name}.csv").exists() and not (path / f"{table.name}.parquet").exists():
            if not table.optional:
                check.add(table.name, None, None, _("table is missing (no .csv or .parquet file)"))
            if table.name in manifest.get("tables", {}):
                check.add("dataset.json", None, "tables", _("lists %(name)s but its file is missing") % {
                    "name": table.name})
            continue
        try:
            text, data, file_name = _read_text(path, table)
        except Exception as exc:  # an unreadable file is one problem of many, not the end of the check
            check.add(table.name, None, None, _("cannot be read (%(name)s: %(exc)s)") % {
                "name": type(exc).__name__, "exc": exc})
            continue
        fingerprint.update(file_name.encode() + b"\0" + hashlib.sha256(data).digest())
        files[file_name] = hashlib.sha256(data).hexdigest()
        listed = manifest.get("tables", {}).get(table.name)
        if listed is None:
            check.add("dataset.json", None, "tables", _("does not list %(name)s") % {"name": table.name})
        elif isinstance(listed, dict):
            if listed.get("rows") != len(text):
                check.add("dataset.json", None, "tables",
                          _("%(name)s has %(count)s rows but the manifest says %(value)s") % {
                              "name": table.name, "count": decimal(len(text), ""),
                              "value": decimal(listed.get('rows'), "r")})
            if file_name.endswith(".csv") and listed.get("sha256") != hashlib.sha256(data).hexdigest():
                check.add("dataset.json", None, "tables", _("%(name)s.csv does not match its SHA-256") % {
                    "name": table.name})
            elif file_name.endswith(".parquet") and list(text.columns) == list(table.column_names):
                # the manifest hashes the canonical CSV: the Parquet's content must give those bytes
                canonical = text.to_csv(index=False, lineterminator="\n").encode("utf-8")
                if listed.get("sha256") != hashlib.sha256(canonical).hexdigest():
                    check.add("dataset.json", None, "tables", _("%(name)s.parquet does not match the SHA-256 of "
                                                                "its table in the manifest (its content was "
                                                                "changed)") % {"name": table.name})
        unexpected = [c for c in text.columns if c not in table.column_names]
        absent = [c for c in table.column_names if c not in text.columns]
        for c in unexpected:
            check.add(table.name, None, c, _("unexpected column"))
        for c in absent:
            check.add(table.name, None, c, _("column is missing"))
        texts[table.name] = text
        frames[table.name] = _typed(check, table, text)
        _check_keys(check, table, frames[table.name])

    _check_blinding(check, proto, texts, manifest_bytes, blinded)
    if all(t in frames for t in ("participants",)):
        _check_relations(check, proto, frames, cutoff, blinded)

    if check.problems:
        raise DatasetError(check.problems)
    for name, frame in frames.items():
        frames[name] = frame.reset_index(drop=True)
    return Dataset(path=path, manifest=MappingProxyType(manifest), blinded=blinded, data_cutoff=cutoff,
                   sha256=fingerprint.hexdigest(), tables=MappingProxyType(frames), files=MappingProxyType(files))


def _check_blinding(check: _Checker, proto, texts, manifest_bytes: bytes, blinded: bool) -> None:
    participants = texts.get("participants")
    if participants is not None and "arm" in participants.columns:
        allowed = BLINDED_ARM_CODES if blinded else proto.arms
        bad = ~participants["arm"].isin(allowed).to_numpy()
        check.rows("participants", participants, bad, "arm",
                   lambda i: (_("%(arm)r is not one of %(allowed)s (the data set is blinded)") if blinded
                              else _("%(arm)r is not one of %(allowed)s")) % {
                       "arm": participants.at[i, "arm"], "allowed": ", ".join(allowed)})
    if not blinded:
        return
    words = sorted({w.lower() for w in (*proto.arms, proto.intervention.drug)})
    pattern = "|".join(re.escape(w) for w in words)
    if re.search(pattern, manifest_bytes.decode("utf-8", "replace"), re.IGNORECASE):
        check.add("dataset.json", None, None, _("a blinded data set must not name an arm"))
    for name, text in texts.items():
        for column in text.columns:
            if name == "participants" and column == "arm":
                continue
            hit = text[column].astype(str).str.contains(pattern, case=False, regex=True).to_numpy()
            check.rows(name, text, hit, column, _("a blinded data set must not name an arm"))


def _by_participant(frame: pd.DataFrame, participants: pd.DataFrame, column: str) -> pd.Series:
    return frame["participant_id"].map(participants.drop_duplicates("participant_id")
                                       .set_index("participant_id")[column])


def _check_relations(check: _Checker, proto, frames: dict[str, pd.DataFrame], cutoff, blinded: bool) -> None:
    p = frames["participants"]
    ids = set(p["participant_id"])
    if "site" in p:
        bad = ~p["site"].isin(proto.site_codes).to_numpy() & (p["site"] != "").to_numpy()
        check.rows("participants", p, bad, "site",
                   lambda i: _("%(value)s is not a site of the protocol (%(items)s)") % {
                       "value": decimal(p.at[i, 'site'], "r"), "items": ', '.join(proto.site_codes)})
    if "randomisation_number" in p:
        num = p["randomisation_number"]
        dup = num.duplicated(keep=False) & num.notna()
        check.rows("participants", p, dup, "randomisation_number", lambda i: _("duplicate number %(value)s") % {
            "value": decimal(num[i], "")})
    comps = [f"baseline_sofa_{c}" for c in SOFA_COMPONENTS if c != "cns"]
    if all(c in p for c in comps) and "baseline_sofa_modified" in p:
        # a missing component is never scored 0: the sum exists only when all five do
        parts = p[comps].astype("Float64")
        complete = parts.notna().all(axis=1).to_numpy(dtype=bool)
        total = parts.fillna(0).sum(axis=1)
        modified = p["baseline_sofa_modified"].astype("Float64")
        given = modified.notna().to_numpy(dtype=bool)
        bad = complete & given & (modified != total).fillna(False).to_numpy(dtype=bool)
        check.rows("participants", p, bad, "baseline_sofa_modified",
                   lambda i: _("%(value)s is not the sum of the five non-CNS components (%(value2)s)") % {
                       "value": decimal(p.at[i, 'baseline_sofa_modified'], ""),
                       "value2": decimal(int(total[i]), "")})
        check.rows("participants", p, given & ~complete, "baseline_sofa_modified",
                   _("must be empty when a non-CNS baseline component is missing (a missing component is never "
                     "scored 0)"))
        check.rows("participants", p, complete & ~given, "baseline_sofa_modified",
                   lambda i: _("is empty although all five non-CNS components are given (sum %(value)s)") % {
                       "value": decimal(int(total[i]), "")})
    randomised = p.set_index("participant_id")["randomised_at"] if "randomised_at" in p else None
    if randomised is not None:
        randomised = randomised[~randomised.index.duplicated()]

    for name, frame in frames.items():
        if name == "participants" or "participant_id" not in frame:
            continue
        pid = frame["participant_id"]
        unknown = ~pid.isin(ids).to_numpy() & (pid != "").to_numpy()
        if name == "screening":
            check.rows(name, frame, unknown, "participant_id",
                       lambda i, f=frame: _("%(value)s is not in participants") % {
                           "value": decimal(f.at[i, 'participant_id'], "r")})
        else:
            check.rows(name, frame, unknown, "participant_id",
                       lambda i, f=frame: _("%(value)s is not in participants") % {
                           "value": decimal(f.at[i, 'participant_id'], "r")})

    def rand_of(frame):
        return frame["participant_id"].map(randomised) if randomised is not None else None

    def order(name, frame, column, reference, rule, strict):
        if column not in frame or reference is None:
            return
        later = frame[column] > reference if strict else frame[column] >= reference
        bad = (~later & frame[column].notna() & reference.notna()).to_numpy(dtype=bool)
        check.rows(name, frame, bad, column, rule)

    deaths = frames.get("deaths")
    died_at = None
    if deaths is not None:
        order("deaths", deaths, "died_at", rand_of(deaths), "must be after randomised_at", strict=True)
        died_at = deaths.drop_duplicates("participant_id").set_index("participant_id")["died_at"]
    infusion = frames.get("infusion")
    if infusion is not None and "started_at" in infusion:
        order("infusion", infusion, "started_at", rand_of(infusion), "must not be before randomised_at", False)
        order("infusion", infusion, "stopped_at", infusion["started_at"], "must be after started_at", True)
        ordered = infusion.sort_values(["participant_id", "segment"], kind="mergesort")
        previous_stop = ordered.groupby("participant_id")["stopped_at"].shift()
        overlap = (ordered["started_at"] < previous_stop).fillna(False).to_numpy(dtype=bool)
        check.rows("infusion", ordered, overlap, "started_at", _("overlaps the previous segment"))
    ae = frames.get("adverse_events")
    if ae is not None and "onset_at" in ae:
        order("adverse_events", ae, "onset_at", rand_of(ae), "must not be before randomised_at", False)
        events = proto.safety.prespecified_events
        bad = ~ae["prespecified"].isin(events).to_numpy() & (ae["prespecified"] != "").to_numpy()
        check.rows("adverse_events", ae, bad, "prespecified",
                   lambda i: _("%(value)s is not a prespecified event of the protocol (%(items)s)") % {
                       "value": decimal(ae.at[i, 'prespecified'], "r"), "items": ', '.join(events)})
    stays = frames.get("icu_stays")
    if stays is not None and "admitted_at" in stays:
        _check_stays(check, stays, died_at)
    followup = frames.get("followup")
    if followup is not None and "assessed_at" in followup:
        _check_followup(check, proto, followup, rand_of(followup), died_at)
    daily = frames.get("daily")
    if daily is not None and stays is not None and "study_day" in daily and "admitted_at" in stays:
        _check_daily(check, daily, rand_of(daily), stays, died_at, cutoff)
    screening = frames.get("screening")
    if screening is not None and "outcome" in screening:
        bad = ~screening["site"].isin(proto.site_codes).to_numpy()
        check.rows("screening", screening, bad, "site", lambda i: _("%(value)s is not a site of the protocol") % {
            "value": decimal(screening.at[i, 'site'], "r")})
        randomised_row = (screening["outcome"] == "randomised").to_numpy()
        has_id = (screening["participant_id"] != "").to_numpy()
        check.rows("screening", screening, randomised_row & ~has_id, "participant_id",
                   _("required when the outcome is randomised"))
        check.rows("screening", screening, ~randomised_row & has_id, "participant_id",
                   _("must be empty unless the outcome is randomised"))
    if cutoff is not None:
        for name, frame in frames.items():
            for col in TABLES[name].columns:
                if col.kind == "time" and col.name in frame:
                    bad = (frame[col.name] > cutoff).fillna(False).to_numpy(dtype=bool)
                    check.rows(name, frame, bad, col.name, _("is after the data cut-off %(cutoff)s") % {
                        "cutoff": decimal(cutoff, "%Y-%m-%dT%H:%M:%SZ")})


def _check_stays(check: _Checker, stays: pd.DataFrame, died_at) -> None:
    name = "icu_stays"
    discharged = stays["discharge"] == "discharged"
    has_time = stays["discharged_at"].notna()
    check.rows(name, stays, (discharged & ~has_time).to_numpy(), "discharged_at",
               _("required when discharge is discharged"))
    check.rows(name, stays, (~discharged & has_time & stays["discharge"].isin(["died", "in_icu"])).to_numpy(),
               "discharged_at", _("must be empty when discharge is died or in_icu"))
    bad = (stays["discharged_at"] <= stays["admitted_at"]).fillna(False).to_numpy(dtype=bool)
    check.rows(name, stays, bad, "discharged_at", _("must be after admitted_at"))
    ordered = stays.sort_values(["participant_id", "stay"], kind="mergesort")
    g = ordered.groupby("participant_id")
    expected = g.cumcount() + 1
    check.rows(name, ordered, (ordered["stay"] != expected).fillna(True).to_numpy(dtype=bool), "stay",
               lambda i: _("stays must be numbered 1, 2, … without gaps (expected %(value)s)") % {
                   "value": decimal(expected[i], "")})
    prev_end = g["discharged_at"].shift()
    prev_exists = g.cumcount() > 0
    not_after = (ordered["admitted_at"] < prev_end).fillna(False) | (prev_exists & prev_end.isna())
    check.rows(name, ordered, not_after.to_numpy(dtype=bool), "admitted_at",
               _("a readmission must start after the previous stay's discharge"))
    is_last = g.cumcount(ascending=False) == 0
    check.rows(name, ordered, (~is_last & ordered["discharge"].isin(["died", "in_icu"])).to_numpy(), "discharge",
               _("only the last stay may end with died or in_icu"))
    died = ordered["discharge"] == "died"
    death_time = ordered["participant_id"].map(died_at) if died_at is not None else pd.Series(pd.NaT, ordered.index)
    check.rows(name, ordered, (died & death_time.isna()).to_numpy(), "discharge",
               _("died in the ICU but deaths has no row for the participant"))
    before = (death_time < ordered["admitted_at"]).fillna(False).to_numpy(dtype=bool)
    check.rows(name, ordered, before, "admitted_at", _("is after the participant's death"))
    after_death = (ordered["discharged_at"] > death_time).fillna(False).to_numpy(dtype=bool)
    check.rows(name, ordered, after_death, "discharged_at", _("is after the participant's death"))


def _check_followup(check: _Checker, proto, followup, randomised_at, died_at) -> None:
    name = "followup"
    days = proto.schedule.followup_days
    bad_day = ~followup["visit_day"].isin(days).to_numpy() & followup["visit_day"].notna().to_numpy()
    check.rows(name, followup, bad_day, "visit_day",
               lambda i: _("%(value)s is not a follow-up day of the protocol (%(items)s)") % {
                   "value": decimal(followup.at[i, 'visit_day'], ""), "items": ', '.join(map(str, days))})
    windows = proto.schedule.followup_window_days
    lo = followup["visit_day"].map(lambda d: windows.get(int(d), (np.nan, np.nan))[0] if pd.notna(d) else np.nan)
    hi = followup["visit_day"].map(lambda d: windows.get(int(d), (np.nan, np.nan))[1] if pd.notna(d) else np.nan)
    start = randomised_at + (lo.astype(float) - 1) * DAY
    end = randomised_at + hi.astype(float) * DAY
    t = followup["assessed_at"]
    outside = ((t < start) | (t >= end)).fillna(False).to_numpy(dtype=bool)
    check.rows(name, followup, outside, "assessed_at",
               lambda i: _("outside the visit window, study days %(value)s–%(value2)s") % {
                   "value": decimal(int(lo[i]), ""), "value2": decimal(int(hi[i]), "")})
    death = followup["participant_id"].map(died_at) if died_at is not None else pd.Series(pd.NaT, followup.index)
    dead = followup["vital_status"] == "dead"
    check.rows(name, followup, (dead & (death.isna() | (death > t)).fillna(True)).to_numpy(dtype=bool),
               "vital_status", _("dead, but deaths has no death on or before assessed_at"))
    alive = followup["vital_status"] == "alive"
    check.rows(name, followup, (alive & (death <= t).fillna(False)).to_numpy(dtype=bool), "vital_status",
               _("alive, but deaths records a death on or before assessed_at"))


def _check_daily(check: _Checker, daily, randomised_at, stays, died_at, cutoff) -> None:
    """Each daily row must fall on a day the participant was alive and (partly) in the ICU."""
    day_start = randomised_at + (daily["study_day"].astype(float) - 1) * DAY
    day_end = day_start + DAY
    death = daily["participant_id"].map(died_at) if died_at is not None else pd.Series(pd.NaT, daily.index)
    dead = (death <= day_start).fillna(False).to_numpy(dtype=bool)
    check.rows("daily", daily, dead, "study_day", _("a day after the participant's death"))
    s = stays[["participant_id", "admitted_at", "discharged_at"]].copy()
    s["end"] = s["discharged_at"]
    open_end = s["end"].isna()
    s.loc[open_end, "end"] = s.loc[open_end, "participant_id"].map(died_at) if died_at is not None else pd.NaT
    s["end"] = s["end"].fillna(cutoff if cutoff is not None else pd.Timestamp.max.tz_localize("UTC"))
    rows = pd.DataFrame({"participant_id": daily["participant_id"], "start": day_start, "stop": day_end,
                         "row": np.arange(len(daily))})
    pairs = rows.merge(s, on="participant_id", how="left")
    overlap = (pairs["admitted_at"] < pairs["stop"]) & (pairs["end"] > pairs["start"])
    in_icu = overlap.groupby(pairs["row"]).any().reindex(range(len(daily)), fill_value=False).to_numpy()
    known = day_start.notna().to_numpy()
    check.rows("daily", daily, ~in_icu & known & ~dead, "study_day", _("a day the participant was not in the ICU"))
