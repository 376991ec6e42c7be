"""shine safety remind: mail the safety clocks due or overdue (idempotent; run it from cron)."""

from django.core.management.base import BaseCommand

from shine.trial.safety.remind import remind


class Command(BaseCommand):
    help = "remind: mail pharmacovigilance the safety clocks due or overdue, once each; prints one summary line"

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["remind"])

    def handle(self, *args, **opts):
        self.stdout.write(remind().summary())
