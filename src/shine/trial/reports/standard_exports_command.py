"""The ``shine export`` subcommands of the standard formats (docs/exports.md) and of the export worker:

    shine export odm|dataset-json|xpt|stata|spss|csv|all --out DIR [--blinded] [--user NAME] [--freeze ID]
    shine export jobs [--once] [--every SECONDS] [--stale-after MINUTES]
    shine export audit-trail --out DIR --user NAME [--format csv|odm] [--participant N | --object-type TYPE
                             [--object-id ID]]
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from shine.exchange.bundle import FORMATS


@dataclass(frozen=True)
class Export:
    help: str
    arguments: Callable
    run: Callable[[dict], str]


def _bundle_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="folder to write (created if missing)")
    parser.add_argument("--blinded", action="store_true", help="arms as A/B")
    parser.add_argument("--user", default="", help="the user the export is made for (audited)")
    parser.add_argument("--freeze", default=None,
                        help="the id of a stored interim freeze to export (A/B-coded: with --blinded) instead of "
                             "the data as they are now")


def _run_bundle(formats: tuple[str, ...]):
    def run(opts: dict) -> str:
        from django.core.management.base import CommandError

        from shine.exchange.source import SourceError
        from shine.exchange.stats import FormatError
        from shine.trial.errors import Refused
        from shine.trial.reports.management.commands.export import active_user
        from shine.trial.reports.standard_exports import export_standard

        try:
            manifest = export_standard(opts["out"], user=active_user(opts["user"]), blinded=opts["blinded"],
                                       formats=formats, freeze=opts["freeze"])
        except (FormatError, SourceError, Refused) as exc:  # a value that does not fit the format, named
            raise CommandError(str(exc)) from None
        frozen = f"freeze {manifest['freeze']['id']}, " if manifest["freeze"] else ""
        return (f"{', '.join(formats)} ({'blinded' if manifest['blinded'] else 'unblinded'}, {frozen}cut-off "
                f"{manifest['data_cutoff']}) written to {opts['out']}: {len(manifest['files'])} files, "
                f"{manifest['rows'].get('participants', 0)} participants")
    return run


def _jobs_arguments(parser) -> None:
    parser.add_argument("--once", action="store_true", help="run the pending jobs and stop")
    parser.add_argument("--every", type=float, default=5.0, help="seconds between looks for new jobs")
    parser.add_argument("--stale-after", type=float, default=0,
                        help="minutes after which a job still running is failed (its process ended)")


def _jobs(opts: dict) -> str:
    from shine.trial.reports.standard_exports import run_pending

    stale = dt.timedelta(minutes=opts["stale_after"]) if opts["stale_after"] else None
    total = run_pending(stale_after=stale)
    while not opts["once"]:
        time.sleep(max(opts["every"], 0.5))
        total += run_pending(stale_after=stale)
    return f"{total} export job(s) run"


def _audit_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="folder to write (created if missing)")
    parser.add_argument("--user", required=True, help="the user the export is made for (their role's view, audited)")
    parser.add_argument("--object-type", default="", help="only this record type, e.g. records.dailyrecord")
    parser.add_argument("--object-id", default="", help="only this record (with --object-type)")
    parser.add_argument("--participant", default="", help="only the records of this participant, e.g. HGH-0007")
    parser.add_argument("--format", default="csv", choices=("csv", "odm"),
                        help="csv (default) or odm: a CDISC ODM 1.3.2 Archival Transactional file")


def _audit(opts: dict) -> str:
    from django.core.management.base import CommandError

    from shine.trial.errors import Refused
    from shine.trial.reports.audit_export import export_audit_trail
    from shine.trial.reports.management.commands.export import active_user

    try:
        manifest = export_audit_trail(opts["out"], user=active_user(opts["user"]), object_type=opts["object_type"],
                                      object_id=opts["object_id"], participant=opts["participant"],
                                      format=opts["format"])
    except Refused as exc:
        raise CommandError(str(exc)) from None
    return (f"audit trail ({opts['format']}) written to {opts['out']}: {manifest['events']} events, chain "
            f"{'verified' if manifest['chain_verification']['ok'] else 'BROKEN'}")


def _casebook_arguments(parser) -> None:
    parser.add_argument("--participant", required=True, help="the participant's number, e.g. HGH-0007")
    parser.add_argument("--out", required=True, help="folder to write (created if missing)")
    parser.add_argument("--user", required=True, help="the user the copy is made for (their role's view, audited)")


def _casebook(opts: dict) -> str:
    from django.core.management.base import CommandError
    from django.http import Http404
    from django.utils.translation import gettext as _

    from shine.trial.monitoring.casebook_pdf import write_casebook_pdf
    from shine.trial.reports.management.commands.export import active_user

    user = active_user(opts["user"])
    try:
        path = write_casebook_pdf(opts["out"], user=user, key=opts["participant"])
    except Http404:
        raise CommandError(_("no participant %(number)s that %(user)s may see") % {
            "number": opts["participant"], "user": opts["user"]}) from None
    return f"casebook of {opts['participant']} written to {path}"


STANDARD_EXPORTS: dict[str, Export] = {
    "casebook": Export("a participant's casebook as a PDF (certified-copy style)", _casebook_arguments, _casebook),
    "audit-trail": Export("the audit trail as CSV or ODM (--format odm) with the chain verification in "
                          "its manifest", _audit_arguments,
                          _audit),
    **{fmt: Export(f"{fmt} files of the analysis data set with a codebook and manifest (docs/exports.md)",
                   _bundle_arguments, _run_bundle((fmt,))) for fmt in FORMATS},
    "all": Export("every standard format in one bundle (docs/exports.md)", _bundle_arguments, _run_bundle(FORMATS)),
    "jobs": Export("run the export jobs requested through the API (SHINE_EXPORT_RUNNER=worker)", _jobs_arguments,
                   _jobs),
}
