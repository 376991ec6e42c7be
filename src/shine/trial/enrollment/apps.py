from django.apps import AppConfig


class EnrollmentConfig(AppConfig):
    name = "shine.trial.enrollment"
    label = "enrollment"
    verbose_name = "Screening log, participants and consent"
