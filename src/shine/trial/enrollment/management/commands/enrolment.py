"""shine enrolment worklist [--site HGH]: participants still waiting for next-of-kin or patient consent.

Read-only and idempotent (safe to run from cron each morning): one line per participant, oldest first,
then one summary line.
"""

from django.core.management.base import BaseCommand
from django.utils import timezone

from ...models import Participant
from ...selectors import waiting_for_consent


class Command(BaseCommand):
    help = "Enrolment reports: the consent worklist."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        w = sub.add_parser("worklist")
        w.add_argument("--site", default="", help="a site code (default: every site)")

    def handle(self, *args, action, site, **opts):
        qs = waiting_for_consent(Participant.objects.select_related("site"))
        if site:
            qs = qs.filter(site__code=site.upper())
        now = timezone.now()
        rows = list(qs)
        for p in rows:
            waiting = " and ".join(w for w, on in (("next of kin", p.awaiting_next_of_kin),
                                                   ("patient", p.awaiting_patient)) if on)
            days = (now - p.guardian_at).days
            self.stdout.write(f"{p.number}  guardian consent {timezone.localtime(p.guardian_at):%Y-%m-%d %H:%M} "
                              f"({days} d)  waiting for {waiting}")
        oldest = f"; oldest {rows[0].number}" if rows else ""
        self.stdout.write(f"{len(rows)} participant{'s' if len(rows) != 1 else ''} waiting for consent{oldest}")
