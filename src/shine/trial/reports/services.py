"""Freezes, interim runs and closed-report downloads: each write audited in one transaction (docs/interim.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shine import protocol as protocol_mod
from shine.analysis import interim
from shine.i18n import decimal
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import Perm
from shine.trial.accounts.selectors import require
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.errors import Refused
from shine.web.formats import local_datetime

from .models import InterimFreeze, InterimRun, Recommendation, ReportDownload

OPEN_FILES = ("report.html", "results.json", "manifest.json")
CLOSED_FILES = ("report.html", "results.json", "key.json", "manifest.json")


def interim_root() -> Path:
    return Path(settings.VAR_DIR) / "interim"


def freeze_dir(freeze: InterimFreeze) -> Path:
    return interim_root() / f"freeze-{freeze.pk}"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def take_freeze(*, user: User, request_id: str = "") -> InterimFreeze:
    """Snapshot the A/B-coded analysis export (``reports.exports.export_dataset``) with the SHA-256 of every file."""
    from shine.analysis.dataset import load
    from shine.trial.reports.exports import export_dataset

    require(user, Perm.VIEW_DSMB)
    root = interim_root()
    tmp = root / f"incoming-{uuid.uuid4().hex}"
    try:
        result = export_dataset(tmp / "data", user=user, blinded=True, request_id=request_id, parquet=False)
        data = load(tmp / "data")
        files = {f.name: _sha(f) for f in sorted((tmp / "data").iterdir())}
        complete = int(interim.day90_complete(data).sum())
        with transaction.atomic():
            freeze = audit.create(
                InterimFreeze, actor=Actor.of(user, request_id), data_cutoff=data.data_cutoff.to_pydatetime(),
                created_at=timezone.now(), created_by=user, dataset_sha256=files["dataset.json"], files=files,
                n_randomised=result.rows["participants"], n_day90_complete=complete)
            target = freeze_dir(freeze)
            if target.exists():
                shutil.rmtree(target)
            tmp.rename(target)
        return freeze
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _checked_data(freeze: InterimFreeze):
    from shine.analysis.dataset import DatasetError, load

    folder = freeze_dir(freeze) / "data"
    if not folder.is_dir():
        raise Refused(_("the files of freeze %(freeze)s are missing from the server") % {"freeze": freeze.pk},
                      field="freeze")
    found = {f.name: _sha(f) for f in sorted(folder.iterdir())}
    if found != freeze.files:
        changed = sorted(set(found.items()) ^ set(freeze.files.items()))
        raise Refused(_("freeze %(freeze)s no longer matches its SHA-256 hashes (%(file)s differs)")
                      % {"freeze": freeze.pk, "file": changed[0][0]}, field="freeze")
    try:
        return load(folder)
    except DatasetError as exc:
        raise Refused(_("freeze %(freeze)s is not a valid analysis data set: %(error)s")
                      % {"freeze": freeze.pk, "error": exc}, field="freeze") from None


def _key(user: User, data) -> dict[str, str]:
    """A/B → arm, from the allocation module (``unblinded_arms`` checks VIEW_ALLOCATION)."""
    from shine.trial.reports.arms import unblinded_arms

    arms = unblinded_arms(user)
    key: dict[str, set] = {}
    for number, code in zip(data["participants"]["participant_id"], data["participants"]["arm"], strict=True):
        key.setdefault(code, set()).add(arms[number])
    if any(len(v) != 1 for v in key.values()) or len(key) != 2:
        raise Refused(_("the freeze's A/B coding does not match the allocation (each code must be one arm)"),
                      field="freeze")
    return {code: next(iter(v)) for code, v in sorted(key.items())}


def _unblindings(user: User, freeze: InterimFreeze):
    """Emergency unblindings up to the freeze's cut-off, from the allocation module."""
    import pandas as pd

    from shine.trial.allocation.selectors import unblindings_for

    # the cut-off is kept to the second, as the export writes it: an unblinding in that second is before it
    rows = list(unblindings_for(user).filter(at__lt=freeze.data_cutoff + dt.timedelta(seconds=1)).order_by("pk")
                .values_list("participant__number", "at"))
    return pd.DataFrame({"participant_id": [r[0] for r in rows],
                         "at": pd.to_datetime([r[1] for r in rows], utc=True)})


def freeze_info(freeze: InterimFreeze) -> dict:
    return {"id": freeze.pk, "data_cutoff": freeze.data_cutoff.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha256": freeze.dataset_sha256}


def run_interim(freeze: InterimFreeze, *, user: User, out_dir: str | Path | None = None,
                prior_sd: float = interim.DEFAULT_PRIOR_SD, request_id: str = "") -> InterimRun:
    """Run the interim on a freeze and write both reports (into ``out_dir`` too, when given). The first run
    of a freeze is recorded; a later run must give byte-identical files, or it is refused."""
    require(user, Perm.VIEW_DSMB)
    if not (0 < prior_sd < 100):
        raise Refused(_("prior SD must lie between 0 and 100 design drifts; got %(sd)s") % {"sd": f"{prior_sd:g}"},
                      field="prior_sd")
    data = _checked_data(freeze)
    key = _key(user, data)
    try:
        report = interim.run(data, key, freeze=freeze_info(freeze), prior_sd=prior_sd,
                             unblindings=_unblindings(user, freeze))
    except ValueError as exc:
        raise Refused(_("the interim cannot run on freeze %(freeze)s: %(error)s") % {"freeze": freeze.pk, "error": exc},
                      field="freeze") from None
    # written aside first: a rerun that disagrees with the recorded reports must not replace them
    folder = freeze_dir(freeze) / f"incoming-{uuid.uuid4().hex}"
    try:
        interim.write(report, folder)
        open_files = {n: _sha(folder / "open" / n) for n in OPEN_FILES}
        closed_files = {n: _sha(folder / "closed" / n) for n in CLOSED_FILES}
        existing = InterimRun.objects.filter(freeze=freeze).first()
        if existing is not None and (existing.open_files != open_files or existing.closed_files != closed_files
                                     or existing.prior_sd != prior_sd):
            raise Refused(_("freeze %(freeze)s was run before with other results (prior SD %(sd)s); the recorded "
                            "reports stand") % {"freeze": freeze.pk, "sd": f"{existing.prior_sd:g}"}, field="freeze")
        if out_dir is not None:
            interim.write(report, out_dir)
        if existing is not None:
            return existing
        with transaction.atomic():
            run = audit.create(InterimRun, actor=Actor.of(user, request_id), freeze=freeze, run_at=timezone.now(),
                               run_by=user, prior_sd=prior_sd, n_analysed=report.closed["interim"]["n_analysed"],
                               open_files=open_files, closed_files=closed_files)
            target = freeze_dir(freeze) / "report"
            if target.exists():
                shutil.rmtree(target)
            folder.rename(target)
        return run
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def report_file(run: InterimRun, side: str, name: str, *, user: User, request_id: str = "") -> bytes:
    """The bytes of one report file. Closed files: DSMB only, each download recorded with its SHA-256."""
    if side == "closed":
        require(user, Perm.VIEW_DSMB)
        allowed = run.closed_files
    elif side == "open":
        require(user, Perm.VIEW_REPORTS)
        allowed = run.open_files
    else:
        raise Refused("report must be open or closed", field="side")
    if name not in allowed:
        raise Refused(f"no file {name!r} in the {side} report; files: {', '.join(sorted(allowed))}", field="file")
    content = (freeze_dir(run.freeze) / "report" / side / name).read_bytes()
    sha = hashlib.sha256(content).hexdigest()
    if sha != allowed[name]:
        raise Refused(f"the {side} report's {name} no longer matches its SHA-256", field="file")
    if side == "closed":
        with transaction.atomic():
            audit.create(ReportDownload, actor=Actor.of(user, request_id), run=run, user=user,
                         downloaded_at=timezone.now(), file=name, sha256=sha)
    return content


def open_manifest(run: InterimRun) -> dict:
    return json.loads((freeze_dir(run.freeze) / "report" / "open" / "manifest.json").read_text())


RATIONALE_LIMIT = 10_000
MEMBER_NAME_LIMIT = 200
MAX_MEMBERS = 12


def record_recommendation(*, user: User, meeting_date, decision: str, rationale: str, members: list[str],
                          run: InterimRun | None = None, request_id: str = "") -> Recommendation:
    """Record the DSMB's recommendation (DSMB roles only): meeting date (not in the future), one of the four
    decisions, the rationale, and the names of the members who signed (at least two)."""
    from shine.trial.errors import entered_text

    require(user, Perm.VIEW_DSMB)
    if not isinstance(meeting_date, dt.date) or isinstance(meeting_date, dt.datetime):
        raise Refused(_("meeting date must be a date"), field="meeting_date")
    if meeting_date > timezone.localdate():
        raise Refused(_("meeting date must not be in the future"), field="meeting_date")
    if decision not in Recommendation.Decision.values:
        choices = ", ".join(str(label) for label in Recommendation.Decision.labels)
        raise Refused(_("decision must be one of: %(choices)s") % {"choices": choices}, field="decision")
    rationale = entered_text("rationale", rationale, limit=RATIONALE_LIMIT, required=True)
    names = [entered_text("members", m, limit=MEMBER_NAME_LIMIT) for m in (members or [])]
    names = [m for m in names if m]
    if not 2 <= len(names) <= MAX_MEMBERS:
        raise Refused(_("members: between 2 and %(max)s signing members, one name per line; got %(n)s")
                      % {"max": MAX_MEMBERS, "n": len(names)}, field="members")
    if len(set(names)) != len(names):
        raise Refused(_("members: each member signs once"), field="members")
    with transaction.atomic():
        return audit.create(Recommendation, actor=Actor.of(user, request_id), run=run, meeting_date=meeting_date,
                            decision=decision, rationale=rationale, members=names, recorded_by=user,
                            recorded_at=timezone.now())


def sponsor_letter(recommendation) -> str:
    """The letter to the sponsor: the decision, the meeting date and the signing members; nothing else."""
    p = protocol_mod.load()
    names = "\n".join(f"  {m}" for m in recommendation.members)
    with translation.override(settings.LANGUAGE_CODE):  # a letter to the sponsor: the trial's language
        decision = str(recommendation.get_decision_display())
    return (f"To the sponsor of the {p.name} trial ({p.registration})\n\n"
            f"The Data Safety and Monitoring Board met on {recommendation.meeting_date:%d %B %Y} and reviewed the "
            f"interim data.\n\nRecommendation: {decision}.\n\n"
            "The closed report and the Board's reasons stay with the Board.\n\nSigned,\n" + names + "\n")


def report_pdf(run: InterimRun, side: str, *, user: User, request_id: str = "") -> bytes:
    """The open or closed report as PDF with the reader's name and the time across every page. A closed PDF is
    for DSMB roles only and its download is recorded, like every closed file."""
    from .pdf import report_pdf as render

    if side not in ("open", "closed"):
        raise Refused("report must be open or closed", field="side")
    results = report_file(run, side, "results.json", user=user, request_id=request_id) if side == "open" else None
    if side == "closed":
        require(user, Perm.VIEW_DSMB)
        results = (freeze_dir(run.freeze) / "report" / "closed" / "results.json").read_bytes()
        if hashlib.sha256(results).hexdigest() != run.closed_files["results.json"]:
            raise Refused("the closed report's results.json no longer matches its SHA-256", field="file")
    data = json.loads(results)
    # the frame is in the reader's language; the tables' rows are the results as computed (codes and English)
    when = f"{local_datetime(timezone.now())} ({timezone.get_current_timezone_name()})"
    watermark = f"{user.full_name or user.username} ({user.username}) · {when} · " + (
        _("DSMB CONFIDENTIAL") if side == "closed" else _("open report"))
    if side == "closed":
        s = data["interim"]
        pr = data["primary"]
        summary = [
            _("Primary analysis (%(population)s): A − B %(difference)s (95 %% CI %(low)s to %(high)s), "
              "P = %(p)s; %(method)s.") % {
                "population": data["population"], "difference": decimal(pr["difference_A_minus_B"], ".3f"),
                "low": decimal(pr["ci_low"], ".3f"), "high": decimal(pr["ci_high"], ".3f"),
                "p": decimal(pr["p_value"], ".3g"),
                "method": pr["method"]},
            _("Observed z %(z)s (z > 0 favours the experimental arm); information fraction %(fraction)s "
              "(%(analysed)s of %(max)s).") % {
                "z": decimal(s["z"], ".4f"), "fraction": decimal(s["information_fraction"], ".4f"),
                "analysed": s["n_analysed"], "max": s["n_max"]},
            _("Conditional power under the design effect %(design)s, under the trend %(trend)s; predictive "
              "probability %(predictive)s (prior: %(prior)s).") % {
                "design": decimal(s["conditional_power_design"], ".4f"),
                "trend": decimal(s["conditional_power_trend"], ".4f"),
                "predictive": decimal(s["predictive_probability"], ".4f"), "prior": s["prior"]["description"]},
            _("Futility rule: %(rule)s (%(binding)s), z cut-off %(cutoff)s: %(met)s.") % {
                "rule": s["rule_text"], "binding": _("binding") if s["binding"] else _("non-binding"),
                "cutoff": decimal(s["futility_z"], ".4f"),
                "met": _("met") if s["rule_met"] else _("not met")},
            _("Recommendation options: %(options)s.") % {"options": ", ".join(data["recommendation_options"])},
        ]
        title = _("SHINE interim: closed report (DSMB only, by group A/B)")
    else:
        syn = data["synopsis"]
        summary = [_("Primary outcome: %(outcome)s. Interim after %(interim_n)s participants with day-90 follow-up "
                     "of %(max_n)s; rule: %(rule)s.") % {
                       "outcome": syn["primary_outcome"], "interim_n": syn["interim_n"],
                       "max_n": syn["max_sample_size"], "rule": syn["interim_rule_text"]},
                   _("Randomised %(randomised)s; day-90 outcome known %(complete)s. Pooled over both arms: no "
                     "result by arm.") % {"randomised": data["randomised"], "complete": data["day90_complete"]}]
        title = _("SHINE interim: open report (pooled)")
    content = render(results, title=title, summary=summary, watermark=watermark)
    if side == "closed":
        with transaction.atomic():
            audit.create(ReportDownload, actor=Actor.of(user, request_id), run=run, user=user,
                         downloaded_at=timezone.now(), file="report.pdf", sha256=hashlib.sha256(content).hexdigest())
    return content


NOTICE_ACTION = "interim_reached_notice"


def notify_interim_reached(*, now: dt.datetime | None = None) -> list[str]:
    """Once, when the day-90 completions reach the interim: e-mail every active user whose role may see the
    progress page (the count, nothing by arm) and record the notice. Returns the addresses written to (empty
    when not reached yet, already sent, or nobody has an address). Run it from cron: ``shine interim notify``."""
    from django.core.mail import send_mail

    from shine.trial.accounts.roles import ROLES
    from shine.trial.audit.models import AuditEvent

    from . import selectors

    proto = protocol_mod.load()
    count = selectors.day90_complete_count(now=now)
    if count < proto.statistics.interim_n or AuditEvent.objects.filter(action=NOTICE_ACTION).exists():
        return []
    readers = [code for code, r in ROLES.items() if r.can(Perm.VIEW_REPORTS) or r.can(Perm.VIEW_DSMB)]
    to = sorted(User.objects.filter(is_active=True, role__in=readers).exclude(email="")
                .values_list("email", flat=True))
    if not to:
        return []
    with transaction.atomic():
        audit.record(actor=Actor.system("interim"), action=NOTICE_ACTION, object_type="reports.interim",
                     object_id=str(proto.statistics.interim_n), changes={"complete": [None, count], "to": [None, to]})
    send_mail(f"{proto.name}: the interim is reached",
              f"{count} participants of the {proto.name} trial have complete day-90 follow-up; the futility "
              f"interim is planned at {proto.statistics.interim_n}.\nThe DSMB statistician can take the freeze "
              "and run the interim on the Interim page.\n", settings.DEFAULT_FROM_EMAIL, to)
    return to
