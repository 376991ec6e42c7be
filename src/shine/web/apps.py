from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "shine.web"
    label = "web"
    verbose_name = "Web pages"

    def ready(self):
        from django.utils.translation import get_language, gettext, ngettext, pgettext

        from shine import i18n

        i18n.install(gettext, pgettext, get_language, ngettext)  # the pure core's messages in the request's language
