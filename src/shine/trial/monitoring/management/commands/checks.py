"""shine checks run: the edit checks over all existing data as system queries (idempotent)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from shine.trial.monitoring import checks


class Command(BaseCommand):
    help = ("run: open a system query for each edit check that fires and has none yet, resolve those whose check "
            "no longer fires; prints one summary line")

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["run"])

    def handle(self, *args, **opts):
        r = checks.run()
        self.stdout.write(_("checks: %(opened)s system queries opened, %(resolved)s resolved, %(unchanged)s still "
                            "open") % r)
