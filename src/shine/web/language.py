"""The language of a request: the user's own setting, else the browser's preference (Django's
LocaleMiddleware, which runs first), else settings.LANGUAGE_CODE. The API answers in English whoever asks:
its messages, like stored values and codes, do not depend on the language."""

from django.conf import settings
from django.core.signals import request_finished
from django.utils import translation

API_PREFIX = "/api/"


def user_language(get_response):
    def middleware(request):
        if request.path.startswith(API_PREFIX):
            language = settings.LANGUAGE_CODE
        else:
            user = getattr(request, "user", None)
            language = (getattr(user, "language", "") if user is not None and user.is_authenticated else "") \
                or translation.get_language()
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response

    return middleware


def forget_language(**_signal) -> None:
    """On request_finished (after a streamed body too): the thread's next work (another request, a mail, a
    command in the same process) starts from LANGUAGE_CODE, not from the last user's language."""
    translation.deactivate()


request_finished.connect(forget_language, dispatch_uid="shine.web.language")  # loaded with the middleware
