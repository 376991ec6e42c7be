"""shine users create | set-role | set-sites | deactivate | end-sessions | reset-second-factor | token | list"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shine.trial.accounts import services
from shine.trial.accounts.models import User
from shine.trial.accounts.roles import ROLES
from shine.trial.audit.services import Actor, ReasonRequired
from shine.trial.errors import Refused


class Command(BaseCommand):
    help = "Manage users: create them, change role or sites, deactivate, issue API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a user")
        create.add_argument("username")
        create.add_argument("--role", required=True, help=f"one of: {', '.join(ROLES)}")
        create.add_argument("--site", action="append", default=[], help="site code (repeatable)")
        create.add_argument("--password", help="default: a generated password, printed once")
        create.add_argument("--full-name", default="")
        create.add_argument("--email", default="")
        create.add_argument("--token", action="store_true", help="also create an API token (printed last)")
        role = sub.add_parser("set-role", help="change a user's role")
        role.add_argument("username")
        role.add_argument("role", help=f"one of: {', '.join(ROLES)}")
        role.add_argument("--reason", required=True)
        sites = sub.add_parser("set-sites", help="replace a user's site memberships")
        sites.add_argument("username")
        sites.add_argument("--site", action="append", default=[], help="site code (repeatable)")
        sites.add_argument("--reason", required=True)
        deactivate = sub.add_parser("deactivate", help="stop a user from logging in (history is kept)")
        deactivate.add_argument("username")
        deactivate.add_argument("--reason", required=True)
        end = sub.add_parser("end-sessions", help="log a user out everywhere now (their cookies are refused)")
        end.add_argument("username")
        end.add_argument("--reason", required=True)
        reset = sub.add_parser("reset-second-factor",
                               help="remove a user's authenticator and recovery codes (a lost phone)")
        reset.add_argument("username")
        reset.add_argument("--reason", required=True)
        token = sub.add_parser("token", help="issue an API token (printed last)")
        token.add_argument("username")
        token.add_argument("--name", default="cli")
        sub.add_parser("list", help="list users with role and sites")

    def handle(self, *args, action, **opts):
        actor = Actor.system("users")
        try:
            getattr(self, action.replace("-", "_"))(actor, **opts)
        except (Refused, ReasonRequired) as exc:
            field = getattr(exc, "field", None) or _("error")
            raise CommandError(f"{field}: {exc}") from None

    def _user(self, username: str) -> User:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise Refused(_("no user named '%(username)s'") % {"username": username}, field="username")
        return user

    def create(self, actor, **opts):
        user, password = services.create_user(
            actor=actor, username=opts["username"], role=opts["role"], sites=opts["site"],
            password=opts["password"], full_name=opts["full_name"], email=opts["email"])
        token = services.create_token(user, actor=actor, name="cli") if opts["token"] else None
        sites = ", ".join(opts["site"]) or _("all sites (cross-site role)")
        self.stdout.write(_("created user %(username)s (%(role)s; %(sites)s)")
                          % {"username": user.username, "role": user.role, "sites": sites})
        if not opts["password"]:
            self.stdout.write(_("password: %(password)s") % {"password": password})
        if token:
            self.stdout.write(token)

    def set_role(self, actor, **opts):
        user = services.change_role(self._user(opts["username"]), actor=actor, role=opts["role"],
                                    reason=opts["reason"])
        self.stdout.write(_("%(username)s is now %(role)s") % {"username": user.username, "role": user.role})

    def set_sites(self, actor, **opts):
        user = self._user(opts["username"])
        services.set_sites(user, actor=actor, sites=opts["site"], reason=opts["reason"])
        self.stdout.write(_("%(username)s works at: %(sites)s")
                          % {"username": user.username, "sites": ", ".join(opts["site"]) or _("no site")})

    def deactivate(self, actor, **opts):
        user = services.deactivate(self._user(opts["username"]), actor=actor, reason=opts["reason"])
        self.stdout.write(_("%(username)s can no longer log in") % {"username": user.username})

    def end_sessions(self, actor, **opts):
        n = services.end_sessions(self._user(opts["username"]), actor=actor, reason=opts["reason"])
        self.stdout.write(ngettext("%(username)s: %(n)s session ended", "%(username)s: %(n)s sessions ended", n)
                          % {"username": opts["username"], "n": n})

    def reset_second_factor(self, actor, **opts):
        from shine.trial.accounts import second_factor

        user = self._user(opts["username"])
        if not opts["reason"].strip():
            raise Refused(_("a reason is required"), field="reason")
        second_factor.remove(user, actor=actor, reason=opts["reason"])
        services.end_sessions(user, actor=actor, reason="second factor reset")
        self.stdout.write(_("%(username)s sets up a new authenticator at the next login") % {"username": user.username})

    def token(self, actor, **opts):
        self.stdout.write(services.create_token(self._user(opts["username"]), actor=actor, name=opts["name"]))

    def list(self, actor, **opts):
        for user in User.objects.prefetch_related("memberships__site"):
            sites = ", ".join(m.site.code for m in user.memberships.all()) or _("all")
            state = "" if user.is_active else " " + _("(inactive)")
            self.stdout.write(f"{user.username:<20} {user.role:<18} {sites}{state}")
