from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "shine.trial.audit"
    label = "audit"
    verbose_name = "Audit trail"
