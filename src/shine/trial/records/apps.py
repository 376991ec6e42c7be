from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "shine.trial.records"
    label = "records"
    verbose_name = "Case report forms"
