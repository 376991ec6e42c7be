"""shine db roles | grant: least privilege on PostgreSQL.

Two roles: the *owner* owns the database and its tables and runs `shine migrate`; the running app connects
as the *app* role, which owns nothing. Owning nothing, it can neither TRUNCATE nor ALTER a table nor disable
its triggers; on the audit tables it may only read and append.

    shine db roles --owner shine_owner --app shine_app   # as a PostgreSQL superuser, once
    DATABASE_URL=postgres://shine_owner@db/shine shine migrate
    DATABASE_URL=postgres://shine_owner@db/shine shine db grant --app shine_app
    DATABASE_URL=postgres://shine_app@db/shine shine serve
"""

from __future__ import annotations

import os
import re

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from shine.trial.audit.models import AuditEvent, AuditSeal

APPEND_ONLY_TABLES = (AuditEvent._meta.db_table, AuditSeal._meta.db_table)
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _role(name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise CommandError(_("role name '%(name)s' must be lower-case letters, digits and _ (at most 63)")
                           % {"name": name})
    return name


def grant_statements(app: str) -> list[str]:
    tables = ", ".join(APPEND_ONLY_TABLES)
    return [
        f"GRANT CONNECT ON DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])} TO {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        # the trail: read and append only
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {tables} FROM {app}",
        # tables and sequences of later migrations (made by the owner) get the same, audit tables excepted
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]


class Command(BaseCommand):
    help = "PostgreSQL roles: `roles` creates the owner and app roles, `grant` gives the app role its privileges."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        r = sub.add_parser("roles", help="create the owner and the app role (run as a superuser; idempotent)")
        r.add_argument("--owner", required=True, type=_role)
        r.add_argument("--app", required=True, type=_role)
        g = sub.add_parser("grant", help="the app role's privileges (run as the owner after each migrate)")
        g.add_argument("--app", required=True, type=_role)

    def handle(self, *args, action, **opts):
        if connection.vendor != "postgresql":
            raise CommandError(_("database roles apply to PostgreSQL; the embedded SQLite database has no roles "
                                 "(see docs/audit.md for what it can and cannot guarantee)"))
        if action == "roles":
            self._roles(opts["owner"], opts["app"])
        else:
            with connection.cursor() as cursor:
                for sql in grant_statements(opts["app"]):
                    cursor.execute(sql)
            self.stdout.write(f"{opts['app']}: read and write on trial tables, read and append on "
                              f"{', '.join(APPEND_ONLY_TABLES)}; owns nothing")

    def _roles(self, owner: str, app: str) -> None:
        database = connection.ops.quote_name(connection.settings_dict["NAME"])
        with connection.cursor() as cursor:
            for name, env in ((owner, "SHINE_DB_OWNER_PASSWORD"), (app, "SHINE_DB_APP_PASSWORD")):
                cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name])
                verb = "ALTER" if cursor.fetchone() else "CREATE"
                password = os.environ.get(env)
                cursor.execute(f"{verb} ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
                               + (" PASSWORD %s" if password else ""), [password] if password else None)
            cursor.execute(f"ALTER DATABASE {database} OWNER TO {owner}")
            cursor.execute(f"ALTER SCHEMA public OWNER TO {owner}")
            cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            cursor.execute(f"GRANT CONNECT ON DATABASE {database} TO {app}")
        self.stdout.write(f"roles ready: {owner} owns database {database} (runs migrate); {app} for the app "
                          f"(passwords from SHINE_DB_OWNER_PASSWORD / SHINE_DB_APP_PASSWORD where set)")
