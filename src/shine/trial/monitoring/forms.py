"""Forms of the monitoring pages (the services check every value again)."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shine.trial.accounts.second_factor import CODE_MAX_LENGTH

from . import casebook, labels
from .models import Query, Signature

# the noun (the form entry a query, a verification or a lock is on), not the verb of the forms' buttons
RECORD = pgettext_lazy("a form's entry", "Record")

FORM_CHOICES = [("", _("the participant"))] + [(k, labels.FORM_LABELS.get(k, label))
                                                for k, (_model, label) in casebook.FORMS.items()]


class RaiseForm(forms.Form):
    record = forms.CharField(required=False, max_length=120, label=RECORD,
                             help_text=_("the record the query is about; empty: the participant"))
    field = forms.CharField(required=False, max_length=40, label=_("Field"),
                            help_text=_("one field of the record (optional)"))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("Question"))
    candidate = forms.BooleanField(required=False, label=_("Hold back as a candidate (the site does not see it yet)"))


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=12, widget=forms.HiddenInput)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("Message"))
    corrected = forms.BooleanField(required=False, label=_("I have corrected the value on its form"))


class FilterForm(forms.Form):
    site = forms.CharField(required=False, max_length=8, label=_("Site"))
    state = forms.ChoiceField(required=False, label=_("State"),
                              choices=[("", _("any")), ("active", _("candidate, open or answered")),
                                       *Query.State.choices])
    min_age_days = forms.IntegerField(required=False, min_value=0, max_value=3650, label=_("Open at least (days)"))
    participant = forms.CharField(required=False, max_length=20, label=_("Participant"))


class VerifyForm(forms.Form):
    record = forms.CharField(max_length=120, label=RECORD)
    note = forms.CharField(required=False, max_length=400, label=_("Note"))


class SignForm(forms.Form):
    meaning = forms.ChoiceField(choices=Signature.Meaning.choices, label=_("Meaning"))
    password = forms.CharField(widget=forms.PasswordInput, max_length=200, label=_("Re-enter your password"))
    code = forms.CharField(required=False, max_length=CODE_MAX_LENGTH,
                           label=_("Code from your authenticator app (if you have one), or a recovery code"))


class LockForm(forms.Form):
    record = forms.CharField(required=False, max_length=120, label=RECORD)
    reason = forms.CharField(max_length=400, label=_("Reason"))


class UnlockForm(forms.Form):
    reason = forms.CharField(max_length=400, label=_("Reason"))


class CodeTextarea(forms.Textarea):
    """A text area whose content is code (JSON), not words: read as typed, in any language."""
    template_name = "monitoring/widgets/code_textarea.html"


class PlanForm(forms.Form):
    rules = forms.CharField(widget=CodeTextarea(attrs={"rows": 12}), label=_("Rules"),
                            help_text=_("JSON, one rule per form as above: every participant, or the first N per "
                                        "site plus a percentage of the rest"))
    seed = forms.CharField(required=False, max_length=64, label=_("Seed"),
                           help_text=_("64 hex digits; empty: drawn now"))
    note = forms.CharField(required=False, max_length=400, label=_("Note"))
