from django.apps import AppConfig


class SafetyConfig(AppConfig):
    name = "shine.trial.safety"
    label = "safety"
    verbose_name = "Safety reporting"
