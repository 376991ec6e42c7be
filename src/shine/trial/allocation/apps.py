from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "shine.trial.allocation"
    label = "allocation"
    verbose_name = "Randomisation lists, packs, allocation and unblinding (the only module that reads the arm)"
