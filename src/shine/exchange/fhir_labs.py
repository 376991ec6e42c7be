"""Laboratory and vital-sign values from a FHIR R4 Bundle of ``Observation``s, mapped to the SOFA inputs.

The site's laboratory system sends what it already has; the values become *proposals* on the daily ICU form
(docs/data-capture.md, "Values from the laboratory"), never daily records by themselves. This module only reads
and maps: it knows no database and no Django.

Mapping: :data:`MAPPING` (version :data:`MAPPING_VERSION`) maps (code system, code) to a SOFA input and names the
units accepted for it (UCUM codes, as FHIR ``valueQuantity.code`` carries them). A site adds its own rows (its
NPU codes, local codes) with a JSON file read by :func:`load_site_mapping`; the mapping version then names the
file too, so every value keeps the table it was read with. An observation whose code or unit is not in the table
is refused with the code, its system and the unit named: nothing is guessed.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from shine.clinical import units
from shine.i18n import _

LOINC = "http://loinc.org"
# The NPU code system as HL7 Denmark's DK Core names it (CodeSystem "DK NPU Subset", urn:oid:1.2.208.176.2.1)
NPU = "urn:oid:1.2.208.176.2.1"
UCUM = "http://unitsofmeasure.org"
MAPPING_VERSION = "shine-labs-1"
SITE_TIME_ZONE = "Europe/Copenhagen"

# SOFA input -> (platform unit in words, how units.py converts it: (quantity, {UCUM code: units.py spelling}))
INPUTS: dict[str, str] = {
    "pao2": "mmHg", "fio2": "fraction", "platelets": "10⁹/L", "bilirubin": "µmol/L", "creatinine": "µmol/L",
    "lactate": "mmol/L", "map_mmhg": "mmHg", "urine_output": "mL",
}
INPUT_LABELS = {"pao2": "PaO2", "fio2": "FiO2", "platelets": "platelets", "bilirubin": "bilirubin",
                "creatinine": "creatinine", "lactate": "lactate", "map_mmhg": "mean arterial pressure",
                "urine_output": "urine output"}
# UCUM unit code -> units.py spelling, per input (the first unit of each is the platform's)
_UNITS: dict[str, dict[str, str]] = {
    "pao2": {"mm[Hg]": "mmHg", "kPa": "kPa"},
    "map_mmhg": {"mm[Hg]": "mmHg", "kPa": "kPa"},
    "fio2": {"1": "fraction", "%": "percent"},
    "platelets": {"10*9/L": "10^9/L", "10*3/uL": "10^3/uL"},
    "bilirubin": {"umol/L": "umol/L", "mg/dL": "mg/dL"},
    "creatinine": {"umol/L": "umol/L", "mg/dL": "mg/dL"},
    "lactate": {"mmol/L": "mmol/L"},
    "urine_output": {"mL": "mL", "L": "L"},
}

# (system, code) -> SOFA input. LOINC names from loinc.org; the unit a row is defined in is only the usual one:
# any unit of the input's list is converted.
MAPPING: dict[tuple[str, str], str] = {
    (LOINC, "2703-7"): "pao2",          # Oxygen [Partial pressure] in Arterial blood
    (LOINC, "3150-0"): "fio2",          # Inhaled oxygen concentration
    (LOINC, "777-3"): "platelets",      # Platelets [#/volume] in Blood by Automated count
    (LOINC, "1975-2"): "bilirubin",     # Bilirubin.total [Mass/volume] in Serum or Plasma
    (LOINC, "14631-6"): "bilirubin",    # Bilirubin.total [Moles/volume] in Serum or Plasma
    (LOINC, "2160-0"): "creatinine",    # Creatinine [Mass/volume] in Serum or Plasma
    (LOINC, "14682-9"): "creatinine",   # Creatinine [Moles/volume] in Serum or Plasma
    (LOINC, "2524-7"): "lactate",       # Lactate [Moles/volume] in Serum or Plasma
    (LOINC, "32693-4"): "lactate",      # Lactate [Moles/volume] in Blood
    (LOINC, "8478-0"): "map_mmhg",      # Mean blood pressure
    (LOINC, "9187-6"): "urine_output",  # Urine output
    # NPU, as listed in MedCom's Danish terminology (github.com/medcomdk/dk-medcom-terminology,
    # input/fsh/NPUObservationCodes.fsh): "P—Creatininium; stofk. = ? µmol/L" and its enzymatic method.
    (NPU, "NPU18016"): "creatinine",
    (NPU, "NPU04998"): "creatinine",
    # The other NPU codes (PaO2, FiO2, platelets, bilirubin, lactate) are added per site: load_site_mapping.
}


FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # FHIR R4 id (and versionId) datatype


class LabRefused(ValueError):
    """A bundle (or one observation in it) that cannot be read; the message names what and why."""


@dataclass(frozen=True)
class LabValue:
    """One observation, mapped: the SOFA input, its value in the platform unit, and where it came from."""

    input: str
    value: float | None               # platform unit; None for an entered-in-error retraction
    value_entered: float | None
    unit_entered: str
    effective_at: dt.datetime         # aware
    resource_id: str
    version: str
    source_system: str
    code_system: str
    code: str
    status: str                       # FHIR status: final, amended, corrected, preliminary, entered-in-error
    mapping_version: str
    received_at: dt.datetime

    @property
    def retracts(self) -> bool:
        return self.status == "entered-in-error"


@dataclass(frozen=True)
class Mapping:
    rows: dict[tuple[str, str], str] = field(default_factory=lambda: dict(MAPPING))
    version: str = MAPPING_VERSION


def load_site_mapping(path: str | Path) -> Mapping:
    """The built-in table plus a site's rows: a JSON file ``{"version": "...", "rows": [{"system": ...,
    "code": ..., "input": ..., "source": "where the code is published"}]}``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    version = str(data.get("version") or "").strip()
    if not version:
        raise LabRefused(f"site mapping {path}: a version is needed (the values keep the table they were read with)")
    rows = dict(MAPPING)
    for i, row in enumerate(data.get("rows") or [], 1):
        missing = [k for k in ("system", "code", "input", "source") if not str(row.get(k) or "").strip()]
        if missing:
            raise LabRefused(f"site mapping {path}, row {i}: {', '.join(missing)} missing")
        if row["input"] not in INPUTS:
            raise LabRefused(f"site mapping {path}, row {i}: input must be one of {', '.join(INPUTS)}; "
                             f"got {row['input']!r}")
        rows[(row["system"], row["code"])] = row["input"]
    return Mapping(rows=rows, version=f"{MAPPING_VERSION}+{version}")


def effective_time(text: str, *, tz: str = SITE_TIME_ZONE) -> dt.datetime:
    """A FHIR dateTime as an aware time. A time without an offset (FHIR requires one; some senders drop it) is
    read in the site's time zone; one that does not exist there (the spring-forward hour) or exists twice (the
    autumn hour) is refused rather than guessed."""
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise LabRefused(f"effectiveDateTime must be a date and time with its offset; got {text!r}") from None
    if t.tzinfo is not None:
        return t
    zone = ZoneInfo(tz)
    early, late = t.replace(tzinfo=zone, fold=0), t.replace(tzinfo=zone, fold=1)
    if early.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) != t:
        raise LabRefused(f"effectiveDateTime {text!r} does not exist in {tz} (the hour the clocks go forward)")
    if early.utcoffset() != late.utcoffset():
        raise LabRefused(f"effectiveDateTime {text!r} has no offset and is ambiguous in {tz} (the hour the clocks "
                         f"go back); send it with its offset")
    return early


def _convert(input_: str, value: float, ucum: str) -> float:
    spelling = _UNITS[input_][ucum]
    if input_ in ("pao2", "map_mmhg"):
        return float(units.to_platform_unit("pressure", value, spelling, name=INPUT_LABELS[input_]))
    if input_ in ("bilirubin", "creatinine", "platelets"):
        return float(units.to_platform_unit(input_, value, spelling, name=input_))
    if input_ == "fio2":
        return float(units.fio2_fraction(value, spelling))
    if input_ == "urine_output":
        if value < 0:
            raise ValueError(f"urine output must be 0 or more; got {value:g}")
        return value * 1000.0 if spelling == "L" else value
    if value < 0:
        raise ValueError(f"{INPUT_LABELS[input_]} must be 0 or more; got {value:g}")
    return value


def _obj(x) -> dict:
    return x if isinstance(x, dict) else {}


def _list(x) -> list:
    return x if isinstance(x, list) else []


def subject_of(res: dict) -> str:
    """The Observation's ``subject`` as written: its ``reference``, else its ``identifier``'s system|value,
    else its ``display``; empty when it has none."""
    subject = _obj(res.get("subject"))
    identifier = _obj(subject.get("identifier"))
    if subject.get("reference"):
        return str(subject["reference"])
    if identifier.get("value"):
        return "|".join(str(x) for x in (identifier.get("system"), identifier.get("value")) if x)
    return str(subject.get("display") or "")


def references(res: dict, participant: str) -> bool:
    """Whether the Observation's subject names the participant: a reference whose last segment is the number
    (``Patient/HGH-0007``), or an identifier whose value is. An Observation without a subject is the sender's
    choice of participant (the import names the participant)."""
    subject = _obj(res.get("subject"))
    if not subject:
        return True
    reference = str(subject.get("reference") or "")
    value = str(_obj(subject.get("identifier")).get("value") or "")
    return (bool(reference) and reference.rstrip("/").rsplit("/", 1)[-1] == participant) or \
        (not reference and value == participant)


def _observation(res: dict, *, mapping: Mapping, source_system: str, received_at: dt.datetime,
                 tz: str, participant: str = "") -> LabValue:
    rid = str(res.get("id") or "").strip()
    if not FHIR_ID.fullmatch(rid):
        raise LabRefused(f"an Observation's id must be 1–64 letters, digits, '-' or '.' (the id makes a re-import "
                         f"harmless); got {rid[:80]!r}")
    where = f"Observation {rid}"
    if participant and not references(res, participant):
        raise LabRefused(_("%(where)s: its subject %(subject)s is not participant %(number)s") % {
            "where": where, "subject": repr(subject_of(res)[:120] or "(none named)"), "number": participant})
    meta = _obj(res.get("meta"))
    source_system = str(meta.get("source") or source_system).strip()
    if not source_system:
        raise LabRefused(f"{where}: the source system is not named (meta.source of the Observation or Bundle)")
    if len(source_system) > 200:
        raise LabRefused(f"{where}: meta.source must be at most 200 characters")
    version = str(meta.get("versionId") or "1")
    if not FHIR_ID.fullmatch(version):
        raise LabRefused(f"{where}: meta.versionId must be 1–64 letters, digits, '-' or '.'; got {version[:80]!r}")
    status = str(res.get("status") or "")
    if status not in ("final", "amended", "corrected", "preliminary", "entered-in-error"):
        raise LabRefused(f"{where}: status must be final, amended, corrected, preliminary or entered-in-error; "
                         f"got {status!r}")
    codings = [c for c in _list(_obj(res.get("code")).get("coding")) if isinstance(c, dict)]
    known = [(c.get("system", ""), c.get("code", "")) for c in codings
             if (c.get("system", ""), c.get("code", "")) in mapping.rows]
    if not known:
        named = ", ".join(f"code {c.get('code', '')!r} of system {c.get('system', '')!r}" for c in codings) or \
            "no code"
        raise LabRefused(f"{where}: {named} is not in the mapping table {mapping.version}")
    system, code = known[0]
    input_ = mapping.rows[(system, code)]
    when = res.get("effectiveDateTime") or _obj(res.get("effectivePeriod")).get("end") or res.get("issued")
    if not when:
        raise LabRefused(f"{where}: effectiveDateTime is missing (the time decides the study day)")
    try:
        effective = effective_time(str(when), tz=tz)
    except LabRefused as exc:
        raise LabRefused(f"{where}: {exc}") from None
    common = dict(input=input_, effective_at=effective, resource_id=rid, version=version,
                  source_system=source_system, code_system=system, code=code, status=status,
                  mapping_version=mapping.version, received_at=received_at)
    quantity = _obj(res.get("valueQuantity"))
    ucum = str(quantity.get("code") or quantity.get("unit") or "")
    if status == "entered-in-error":
        return LabValue(value=None, value_entered=None, unit_entered=ucum[:20], **common)
    if quantity.get("system", UCUM) != UCUM or ucum not in _UNITS[input_]:
        raise LabRefused(f"{where} ({INPUT_LABELS[input_]}, code {code!r} of system {system!r}): unit {ucum!r} is "
                         f"not accepted; accepted: {', '.join(_UNITS[input_])} (UCUM)")
    raw = quantity.get("value")
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise LabRefused(f"{where} ({INPUT_LABELS[input_]}): valueQuantity.value must be a number; got {raw!r}")
    try:
        value = _convert(input_, float(raw), ucum)
    except ValueError as exc:
        raise LabRefused(f"{where}: {exc}") from None
    return LabValue(value=value, value_entered=float(raw), unit_entered=ucum, **common)


def parse_bundle(bundle: dict | str | bytes, *, received_at: dt.datetime, source_system: str = "",
                 mapping: Mapping | None = None, tz: str = SITE_TIME_ZONE, participant: str = "") -> list[LabValue]:
    """Every Observation of a Bundle, mapped. The source system is the Observation's ``meta.source``, else the
    Bundle's, else ``source_system``. With ``participant`` (the number of the participant being imported), an
    Observation whose ``subject`` references someone else is refused with the reference named. Refuses the
    whole bundle (listing each problem) when any observation cannot be read: a partial import would leave the
    nurse a day's worst value that is not."""
    if isinstance(bundle, str | bytes):
        try:
            bundle = json.loads(bundle)
        except ValueError as exc:
            raise LabRefused(f"the bundle is not JSON: {exc}") from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise LabRefused("the file must be a FHIR R4 Bundle (resourceType \"Bundle\")")
    mapping = mapping or Mapping()
    source_system = str(_obj(bundle.get("meta")).get("source") or source_system)
    out, problems = [], []
    for entry in _list(bundle.get("entry")):
        res = _obj(_obj(entry).get("resource"))
        if res.get("resourceType") != "Observation":
            continue  # Patient, Encounter, Specimen: context, not values
        try:
            out.append(_observation(res, mapping=mapping, source_system=source_system, received_at=received_at,
                                    tz=tz, participant=participant))
        except LabRefused as exc:
            problems.append(str(exc))
    if problems:
        raise LabRefused("; ".join(problems))
    return out


def study_day(randomised_at: dt.datetime, at: dt.datetime) -> int:
    """The study day containing ``at``: day d is [R + (d−1)·24 h, R + d·24 h) (records/schedule.py, counted in
    elapsed time, so a day across a clock change is still 24 hours)."""
    return (at - randomised_at) // dt.timedelta(hours=24) + 1


@dataclass(frozen=True)
class Proposed:
    """The worst value of one SOFA input on one study day, and the observation(s) it came from."""

    input: str
    value: float
    sources: tuple[LabValue, ...]


def _lowest(values: list[LabValue]) -> LabValue:
    return min(values, key=lambda v: (v.value, v.effective_at))


def _highest(values: list[LabValue]) -> LabValue:
    return max(values, key=lambda v: (v.value, -v.effective_at.timestamp()))


def current(values: Iterable[LabValue]) -> list[LabValue]:
    """The latest version of each resource, without the retracted ones (entered-in-error)."""
    latest: dict[tuple[str, str], LabValue] = {}
    for v in values:
        key = (v.source_system, v.resource_id)
        if key not in latest or _version_key(v.version) >= _version_key(latest[key].version):
            latest[key] = v
    return [v for v in latest.values() if not v.retracts and v.value is not None]


def _version_key(version: str) -> tuple:
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


def _value(v: LabValue) -> float:
    """The value of a current observation (retractions are never current)."""
    if v.value is None:
        raise ValueError(f"Observation {v.resource_id} has no value")
    return v.value


def worst_of_day(values: Iterable[LabValue]) -> dict[str, Proposed]:
    """The worst value of each input among one day's current values, as SOFA scores it: lowest PaO2/FiO2 (each
    PaO2 with the latest FiO2 at or before it), lowest platelets and mean arterial pressure, highest bilirubin,
    creatinine and lactate, and the day's urine output summed."""
    by: dict[str, list[LabValue]] = {}
    for v in values:
        by.setdefault(v.input, []).append(v)
    out: dict[str, Proposed] = {}
    for name in ("platelets", "map_mmhg"):
        if by.get(name):
            w = _lowest(by[name])
            out[name] = Proposed(name, _value(w), (w,))
    for name in ("bilirubin", "creatinine", "lactate"):
        if by.get(name):
            w = _highest(by[name])
            out[name] = Proposed(name, _value(w), (w,))
    if by.get("urine_output"):
        vols = sorted(by["urine_output"], key=lambda v: v.effective_at)
        out["urine_output"] = Proposed("urine_output", sum(_value(v) for v in vols), tuple(vols))
    if by.get("pao2"):
        fio2s = sorted(by.get("fio2", []), key=lambda v: v.effective_at)
        pairs = []
        for p in by["pao2"]:
            before = [f for f in fio2s if f.effective_at <= p.effective_at]
            if before:
                f = before[-1]
                pairs.append((_value(p) / _value(f), p, f))
        if pairs:
            _, p, f = min(pairs, key=lambda t: (t[0], t[1].effective_at))
            out["pao2"] = Proposed("pao2", _value(p), (p,))
            out["fio2"] = Proposed("fio2", _value(f), (f,))
        else:  # a PaO2 without its FiO2: the lowest PaO2 is proposed, the nurse types the FiO2
            w = _lowest(by["pao2"])
            out["pao2"] = Proposed("pao2", _value(w), (w,))
    return out
