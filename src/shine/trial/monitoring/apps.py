from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "shine.trial.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring and data management"
