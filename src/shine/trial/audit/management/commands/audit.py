"""shine audit verify | seal | anchor: check the trail, seal pending events, anchor the chain's head."""

import sys
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from shine import protocol as protocol_mod
from shine.trial.audit import anchor
from shine.trial.audit.models import AuditSeal
from shine.trial.audit.services import seal_pending
from shine.trial.audit.verify import verify


class Command(BaseCommand):
    help = "Audit trail tools."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        v = sub.add_parser("verify", help="check the hash chain and replay every audited record")
        v.add_argument("--anchor", type=Path, metavar="FILE",
                       help="also hold the chain to every head in this anchor file (e.g. var/audit-anchor.jsonl)")
        sub.add_parser("seal", help="add any committed events still missing from the chain (idempotent)")
        a = sub.add_parser("anchor", help="append the chain's current head to the anchor file and print it")
        a.add_argument("--mail", action="store_true", help="also e-mail the head to SPONSOR_EMAILS (run daily)")

    def handle(self, *args, action, **opts):
        if action == "seal":
            self.stdout.write(_("sealed %(n)s event(s)") % {"n": seal_pending()})
            return
        if action == "anchor":
            return self._anchor(mail=opts["mail"])
        try:
            result = verify(anchor=opts["anchor"])
        except anchor.AnchorFileError as exc:
            raise CommandError(str(exc)) from None
        (self.stdout if result.ok else self.stderr).write(result.summary())
        if not result.ok:
            sys.exit(1)

    def _anchor(self, *, mail: bool) -> None:
        seal_pending()
        head = AuditSeal.objects.order_by("-seq").first()
        if head is None:
            self.stdout.write(_("the audit trail is empty: nothing to anchor"))
            return
        anchor.write(seq=head.seq, hash=head.hash)
        line = f"audit chain head: seal #{head.seq} {head.hash}"
        if mail:
            name = protocol_mod.load().name
            with translation.override(settings.LANGUAGE_CODE):  # to configured addresses: the trial's language
                subject = _("%(trial)s: audit chain head #%(seq)s") % {"trial": name, "seq": head.seq}
                body = _("%(line)s\n\nKeep this message: `shine audit verify --anchor` holds the trail to it.\n") \
                    % {"line": line}
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, list(settings.SPONSOR_EMAILS))
            line += " " + _("(e-mailed to %(addresses)s)") % {"addresses": ", ".join(settings.SPONSOR_EMAILS)}
        self.stdout.write(line)
