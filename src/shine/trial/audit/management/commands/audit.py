"""shine audit verify: exit 0 when the audit trail is intact, 1 otherwise (naming what is wrong)."""

import sys

from django.core.management.base import BaseCommand

from shine.trial.audit.services import seal_pending
from shine.trial.audit.verify import verify


class Command(BaseCommand):
    help = "Audit trail tools."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("verify", help="check the hash chain and replay every audited record")
        sub.add_parser("seal", help="add any committed events still missing from the chain (idempotent)")

    def handle(self, *args, action, **opts):
        if action == "seal":
            self.stdout.write(f"sealed {seal_pending()} event(s)")
            return
        result = verify()
        (self.stdout if result.ok else self.stderr).write(result.summary())
        if not result.ok:
            sys.exit(1)
