"""shine allocation generate|import|verify|qc: randomisation lists from the command line.

    shine allocation generate --user pharmacist --length 100 [--name NAME]
    shine allocation import list.csv --user pharmacist [--name NAME]
    shine allocation verify            # every list still matches its manifest SHA-256 (exit 1 if not)
    shine allocation qc [--list ID]    # balance per site and block sizes (unblinded output)

``verify`` is idempotent and safe to run periodically; it prints one summary line.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from shine.trial.accounts.models import User
from shine.trial.errors import Refused

from ... import lists, services
from ...models import RandomisationList


def _user(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(_("no active user %(username)s") % {"username": repr(username)})
    return user


class Command(BaseCommand):
    help = "Generate, import, verify and check randomisation lists."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        g = sub.add_parser("generate")
        g.add_argument("--user", required=True, help="an unblinded user who may manage randomisation")
        g.add_argument("--length", type=int, required=True, help="entries per site (whole blocks, at least this)")
        g.add_argument("--name", default="")
        i = sub.add_parser("import")
        i.add_argument("file")
        i.add_argument("--user", required=True)
        i.add_argument("--name", default="")
        sub.add_parser("verify")
        q = sub.add_parser("qc")
        q.add_argument("--list", type=int, default=None)

    def handle(self, *args, action, **o):
        try:
            if action == "generate":
                rlist = services.generate_list(user=_user(o["user"]), length_per_site=o["length"], name=o["name"])
                self.stdout.write(_("list %(list)s: %(slots)s slots, sha256 %(sha256)s")
                                  % {"list": rlist.pk, "slots": rlist.slots.count(), "sha256": rlist.sha256})
            elif action == "import":
                try:
                    with open(o["file"], encoding="utf-8-sig") as fh:
                        text = fh.read()
                except OSError as exc:
                    raise CommandError(_("cannot read %(file)s: %(error)s")
                                       % {"file": o["file"], "error": exc.strerror}) from None
                rlist = services.import_list(user=_user(o["user"]), text=text, name=o["name"])
                self.stdout.write(_("list %(list)s imported: %(slots)s slots, sha256 %(sha256)s")
                                  % {"list": rlist.pk, "slots": rlist.slots.count(), "sha256": rlist.sha256})
            elif action == "verify":
                bad = [rl.pk for rl in RandomisationList.objects.all() if not services.verify_list(rl)]
                n = RandomisationList.objects.count()
                if bad:
                    raise CommandError(_("FAILED: lists %(lists)s differ from their manifest (%(count)s lists checked)")
                                       % {"lists": ", ".join(map(str, bad)), "count": n})
                self.stdout.write(_("OK: %(count)s lists match their manifest SHA-256") % {"count": n})
            elif action == "qc":
                qs = RandomisationList.objects.all()
                if o["list"]:
                    qs = qs.filter(pk=o["list"])
                from shine import protocol

                for rl in qs:
                    self.stdout.write(_("list %(list)s %(name)s") % {"list": rl.pk, "name": rl.name})
                    self.stdout.write(lists.qc(services.list_entries(rl), protocol.load().arms).summary())
        except Refused as exc:
            raise CommandError(str(exc)) from None
