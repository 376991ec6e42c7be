"""shine export analysis-dataset --out DIR [--blinded] [--user NAME] [--no-parquet]"""

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from shine.trial.accounts.models import User
from shine.trial.records.commands import export_dataset


class Command(BaseCommand):
    help = ("Write the analysis data set (docs/data-model.md) for `shine analyse`. --blinded writes the arms as "
            "A/B (keyed with SHINE_BLINDING_KEY); an unblinded export needs --user with a role that may see "
            "the allocation.")

    def add_arguments(self, parser):
        parser.add_argument("what", choices=["analysis-dataset"])
        parser.add_argument("--out", required=True, help="folder to write (created if missing)")
        parser.add_argument("--blinded", action="store_true", help="arms as A/B")
        parser.add_argument("--user", default="", help="the user the export is made for (audited)")
        parser.add_argument("--no-parquet", action="store_true", help="CSV only")

    def handle(self, *args, **opts):
        user = None
        if opts["user"]:
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"no active user {opts['user']!r}")
        try:
            result = export_dataset(opts["out"], user=user, blinded=opts["blinded"], parquet=not opts["no_parquet"])
        except (PermissionError, PermissionDenied) as exc:
            raise CommandError(str(exc) or "this user's role may not make this export") from None
        self.stdout.write(result.summary())
