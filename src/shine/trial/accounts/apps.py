from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shine.trial.accounts"
    label = "accounts"
    verbose_name = "Accounts, roles and sites"

    def ready(self):
        from . import checks  # noqa: F401  (registers the protocol system checks)
