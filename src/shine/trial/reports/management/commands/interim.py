"""shine interim progress | snapshot --user NAME | run --freeze ID --out DIR --user NAME [--prior-sd X] | notify"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404

from shine.analysis import interim
from shine.trial.accounts.models import User
from shine.trial.errors import Refused
from shine.trial.reports import selectors, services


def _user(name: str) -> User:
    user = User.objects.filter(username=name, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {name!r}")
    return user



def progress(user) -> list[str]:
    p = selectors.progress(user)
    f = p["forecast"]
    lines = [f"day-90 complete: {p['complete']} of {p['interim_n']} (interim), of {p['max_n']} (maximum); "
             f"randomised {p['randomised']}"]
    lines += [f"  {s['code']:<4} randomised {s['randomised']:>4}  complete {s['complete']:>4}  before day 90 "
              f"{s['pending']:>4}" for s in p["sites"]]
    if f.reached:
        lines.append("interim reached")
    elif f.median is not None:
        lines.append(f"interim expected {f.median:%Y-%m-%d} (95 % interval {f.low:%Y-%m-%d} to {f.high:%Y-%m-%d})")
    else:
        lines.append("no forecast: no recruitment observed yet")
    return lines


def snapshot(user) -> list[str]:
    f = services.take_freeze(user=user)
    return [f"freeze {f.pk}: cut-off {services.freeze_info(f)['data_cutoff']}, {f.n_randomised} randomised, "
            f"{f.n_day90_complete} with the day-90 outcome known; dataset.json SHA-256 {f.dataset_sha256}"]


def run(user, freeze_id: int, out: str, prior_sd: float) -> list[str]:
    try:
        freeze = selectors.freeze_for(user, freeze_id)
    except Http404:
        raise Refused(f"no freeze {freeze_id}", field="freeze") from None
    r = services.run_interim(freeze, user=user, out_dir=out, prior_sd=prior_sd)
    return [f"interim on freeze {freeze.pk}: {r.n_analysed} analysed; open and closed reports written to {out}"]


class Command(BaseCommand):
    help = ("The futility interim: progress toward it, a freeze (snapshot of the A/B-coded analysis export with "
            "its SHA-256 hashes), and the run that writes the open and closed reports (docs/interim.md).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("progress", help="day-90 completions per site and the forecast of the interim date")
        p.add_argument("--user", required=True, help="a user whose role may see reports")
        s = sub.add_parser("snapshot", help="freeze the data now; prints the freeze id")
        s.add_argument("--user", required=True, help="the DSMB statistician taking the freeze (audited)")
        sub.add_parser("notify", help="e-mail the DSMB statisticians and trial managers once the interim is "
                                      "reached (run it from cron)")
        r = sub.add_parser("run", help="run the interim on a freeze and write open/ and closed/ into --out")
        r.add_argument("--freeze", type=int, required=True, help="freeze id (from `shine interim snapshot`)")
        r.add_argument("--out", required=True, help="folder to write (created if missing)")
        r.add_argument("--user", required=True, help="the DSMB statistician running it (audited)")
        r.add_argument("--prior-sd", type=float, default=interim.DEFAULT_PRIOR_SD,
                       help="SD of the normal prior of the drift, in design drifts (default 1)")

    def handle(self, *args, **opts):
        if opts["action"] == "notify":
            to = services.notify_interim_reached()
            self.stdout.write(f"interim reached: notice sent to {', '.join(to)}" if to else
                              "no notice: the interim is not reached, the notice was sent before, or nobody who "
                              "may see the progress page has an e-mail address")
            return
        user = _user(opts["user"])
        try:
            if opts["action"] == "progress":
                lines = progress(user)
            elif opts["action"] == "snapshot":
                lines = snapshot(user)
            else:
                lines = run(user, opts["freeze"], opts["out"], opts["prior_sd"])
        except PermissionDenied as exc:
            raise CommandError(str(exc) or "this user's role may not do this") from None
        except Refused as exc:
            raise CommandError(str(exc)) from None
        for line in lines:
            self.stdout.write(line)
