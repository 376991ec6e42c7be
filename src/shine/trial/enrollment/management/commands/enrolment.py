"""shine enrolment worklist [--site HGH]: participants still waiting for next-of-kin or patient consent.

Read-only and idempotent (safe to run from cron each morning): one line per participant, oldest first,
then one summary line, in the language the command line runs in (LANGUAGE/LANG).
"""

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shine.web.formats import local_datetime

from ...models import Participant
from ...selectors import waiting_for_consent


class Command(BaseCommand):
    help = "Enrolment reports: the consent worklist."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        w = sub.add_parser("worklist")
        w.add_argument("--site", default="", help=_("a site code (default: every site)"))

    def handle(self, *args, action, site, **opts):
        qs = waiting_for_consent(Participant.objects.select_related("site"))
        if site:
            qs = qs.filter(site__code=site.upper())
        now = timezone.now()
        rows = list(qs)
        for p in rows:
            if p.awaiting_next_of_kin and p.awaiting_patient:
                waiting = _("next of kin and patient")
            elif p.awaiting_next_of_kin:
                waiting = _("next of kin")
            else:
                waiting = _("patient")
            self.stdout.write(_("%(participant)s  guardian consent %(when)s (%(days)s d)  waiting for %(waiting)s") % {
                "participant": p.number, "when": local_datetime(p.guardian_at), "days": (now - p.guardian_at).days,
                "waiting": waiting})
        values = {"n": len(rows), "oldest": rows[0].number if rows else ""}
        if rows:
            line = ngettext("%(n)s participant waiting for consent; oldest %(oldest)s",
                            "%(n)s participants waiting for consent; oldest %(oldest)s", len(rows)) % values
        else:
            line = _("0 participants waiting for consent")
        self.stdout.write(line)
