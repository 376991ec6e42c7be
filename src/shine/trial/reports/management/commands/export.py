"""shine export <what> …: one subcommand per export.

    shine export analysis-dataset --out DIR [--blinded] [--user NAME] [--no-parquet]

A new export adds one entry to ``EXPORTS``: its help, a function adding its options to the subparser and a
function running it (returning the line to print).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from shine.trial.accounts.models import User


def active_user(username: str) -> User | None:
    """The user an export is made for (audited); None without --user (a system action)."""
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"no active user {username!r}")
    return user


def _dataset_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="folder to write (created if missing)")
    parser.add_argument("--blinded", action="store_true", help="arms as A/B")
    parser.add_argument("--user", default="", help="the user the export is made for (audited)")
    parser.add_argument("--no-parquet", action="store_true", help="CSV only")


def _dataset(opts: dict) -> str:
    from shine.trial.reports.exports import export_dataset

    result = export_dataset(opts["out"], user=active_user(opts["user"]), blinded=opts["blinded"],
                            parquet=not opts["no_parquet"])
    return result.summary()


@dataclass(frozen=True)
class Export:
    help: str
    arguments: Callable
    run: Callable[[dict], str]


EXPORTS: dict[str, Export] = {
    "analysis-dataset": Export(
        "the analysis data set (docs/data-model.md) for `shine analyse`; --blinded writes the arms as A/B "
        "(keyed with SHINE_BLINDING_KEY); an unblinded export needs --user with a role that may see the "
        "allocation", _dataset_arguments, _dataset),
}


# the standard formats (docs/exports.md) and the worker of the API's export jobs
from shine.trial.reports.standard_exports_command import STANDARD_EXPORTS  # noqa: E402

EXPORTS.update(STANDARD_EXPORTS)


class Command(BaseCommand):
    help = "Write an export of the trial's data: " + "; ".join(f"{k}: {v.help}" for k, v in EXPORTS.items())

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True, metavar="{" + ",".join(EXPORTS) + "}")
        for name, export in EXPORTS.items():
            export.arguments(sub.add_parser(name, help=export.help))

    def handle(self, *args, **opts):
        try:
            line = EXPORTS[opts["what"]].run(opts)
        except (PermissionError, PermissionDenied) as exc:
            raise CommandError(str(exc) or "this user's role may not make this export") from None
        self.stdout.write(line)
