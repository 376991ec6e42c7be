from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "shine.web"
    label = "web"
    verbose_name = "Web pages"
