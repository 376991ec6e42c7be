from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "shine.trial.reports"
    label = "reports"
    verbose_name = "Progress and interim reports"
