"""Laboratory values from the site's laboratory system.

    shine labs import BUNDLE.json --participant N --user NAME [--source SYSTEM]
"""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.http import Http404
from django.utils.translation import gettext as _

from shine.trial.accounts.models import User
from shine.trial.enrollment.models import Participant
from shine.trial.errors import Refused
from shine.trial.records import lab_import


class Command(BaseCommand):
    help = "Import a FHIR R4 Bundle of laboratory Observations for one participant (proposed on the daily forms)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        i = sub.add_parser("import", help="import one Bundle (JSON file)")
        i.add_argument("file")
        i.add_argument("--participant", required=True, help="the participant's number")
        i.add_argument("--user", required=True, help="a site user who may enter data (the import is theirs)")
        i.add_argument("--source", default="", help="the source system when the Bundle does not name it")

    def handle(self, *args, action, **o):
        user = User.objects.filter(username=o["user"], is_active=True).first()
        if user is None:
            raise CommandError(_("no active user %(user)s") % {"user": repr(o["user"])})
        participant = Participant.objects.filter(number=o["participant"]).first()
        if participant is None:
            raise CommandError(_("no participant %(participant)s") % {"participant": repr(o["participant"])})
        try:
            with open(o["file"], "rb") as fh:
                text = fh.read()
        except OSError as exc:
            raise CommandError(_("cannot read %(file)s: %(why)s") % {"file": o["file"], "why": exc.strerror}) from None
        try:
            result = lab_import.import_bundle(user=user, participant=participant, bundle=text,
                                              source_system=o["source"], request_id="cli:labs")
        except (Refused, PermissionDenied) as exc:
            raise CommandError(str(exc)) from None
        except Http404:
            raise CommandError(_("%(user)s does not work at the site of %(participant)s") % {
                "user": o["user"], "participant": participant.number}) from None
        self.stdout.write(json.dumps(result.as_json()))
