from django.db import migrations, models

TABLES = ("audit_auditevent", "audit_auditseal")

SQLITE = [
    sql
    for table in TABLES
    for sql in (
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;",
    )
]
SQLITE_REVERSE = [f"DROP TRIGGER IF EXISTS {t}_{op};" for t in TABLES for op in ("no_update", "no_delete")]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only: %% refused', TG_OP; END; $$;""",
    *(f"CREATE TRIGGER {t}_no_update BEFORE UPDATE OR DELETE ON {t} "
      "FOR EACH ROW EXECUTE FUNCTION audit_append_only();" for t in TABLES),
]
POSTGRES_REVERSE = [*(f"DROP TRIGGER IF EXISTS {t}_no_update ON {t};" for t in TABLES),
                    "DROP FUNCTION IF EXISTS audit_append_only();"]


def add_triggers(apps, schema_editor):
    statements = {"sqlite": SQLITE, "postgresql": POSTGRES}.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"no append-only triggers for database {schema_editor.connection.vendor}")
    for sql in statements:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    for sql in {"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}[schema_editor.connection.vendor]:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("at", models.DateTimeField(help_text="server time (UTC)")),
                ("actor_id", models.BigIntegerField(blank=True, null=True)),
                ("actor", models.CharField(help_text="username, or system:<command>", max_length=150)),
                ("role", models.CharField(max_length=40)),
                ("action", models.CharField(max_length=40)),
                ("object_type", models.CharField(blank=True, max_length=80)),
                ("object_id", models.CharField(blank=True, max_length=64)),
                ("changes", models.TextField(help_text="canonical JSON: {field: [old, new]}")),
                ("reason", models.TextField(blank=True)),
                ("request_id", models.CharField(blank=True, max_length=64)),
                ("app_version", models.CharField(max_length=40)),
                ("content_hash", models.CharField(max_length=64)),
            ],
            options={"ordering": ["id"], "indexes": [
                models.Index(fields=["object_type", "object_id"], name="audit_audit_object__idx"),
                models.Index(fields=["actor"], name="audit_audit_actor_idx"),
            ]},
        ),
        migrations.CreateModel(
            name="AuditSeal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("seq", models.BigIntegerField(unique=True)),
                ("prev_hash", models.CharField(max_length=64)),
                ("hash", models.CharField(max_length=64)),
                ("event", models.OneToOneField(on_delete=models.deletion.PROTECT, related_name="seal",
                                               to="audit.auditevent")),
            ],
            options={"ordering": ["seq"]},
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
