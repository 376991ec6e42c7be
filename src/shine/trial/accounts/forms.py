from django import forms
from django.utils.translation import gettext_lazy as _

from .second_factor import CODE_MAX_LENGTH

# the choices of the language setting: each language named in itself, blank follows the browser
LANGUAGE_CHOICES = [("", _("Browser default")), ("da", "Dansk"), ("en", "English")]


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, label=_("Username"))
    password = forms.CharField(max_length=256, widget=forms.PasswordInput, label=_("Password"))


class CodeForm(forms.Form):
    code = forms.CharField(max_length=CODE_MAX_LENGTH, label=_("Code"))


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(max_length=256, widget=forms.PasswordInput, label=_("Current password"))
    new_password = forms.CharField(max_length=256, widget=forms.PasswordInput, label=_("New password"))
    code = forms.CharField(max_length=CODE_MAX_LENGTH, required=False, label=_("Code"))


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=LANGUAGE_CHOICES, required=False, label=_("Language"))
