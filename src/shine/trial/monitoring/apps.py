from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "shine.trial.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring and data management"

    def ready(self):
        from django.db.models.signals import pre_save

        from . import locking

        for model in locking.LOCKABLE:
            pre_save.connect(locking.refuse_locked_write, sender=model, dispatch_uid=f"monitoring-lock-{model.__name__}")
