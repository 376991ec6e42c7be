"""shine users create USERNAME --role ROLE [--site CODE ...] [--token] [--password PW]"""

from django.core.management.base import BaseCommand, CommandError

from shine.trial.accounts import services
from shine.trial.accounts.roles import ROLES
from shine.trial.audit.services import Actor
from shine.trial.errors import Refused


class Command(BaseCommand):
    help = "Manage users: create a user with a role, sites and optionally an API token."

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

    def handle(self, *args, action, **opts):
        actor = Actor.system("users")
        try:
            user, password = services.create_user(
                actor=actor, username=opts["username"], role=opts["role"], sites=opts["site"],
                password=opts["password"], full_name=opts["full_name"], email=opts["email"])
            token = services.create_token(user, actor=actor, name="cli") if opts["token"] else None
        except Refused as exc:
            raise CommandError(f"{exc.field or 'error'}: {exc}") from None
        sites = ", ".join(opts["site"]) or "all sites (cross-site role)"
        self.stdout.write(f"created user {user.username} ({user.role}; {sites})")
        if not opts["password"]:
            self.stdout.write(f"password: {password}")
        if token:
            self.stdout.write(token)
