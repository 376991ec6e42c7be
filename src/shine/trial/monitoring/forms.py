"""Forms of the monitoring pages (the services check every value again)."""

from django import forms

from shine.trial.accounts.second_factor import CODE_MAX_LENGTH

from . import casebook
from .models import Query, Signature

FORM_CHOICES = [("", "the participant")] + [(k, label) for k, (_, label) in casebook.FORMS.items()]


class RaiseForm(forms.Form):
    record = forms.CharField(required=False, max_length=120,
                             help_text="the record the query is about; empty: the participant")
    field = forms.CharField(required=False, max_length=40, help_text="one field of the record (optional)")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Question")
    candidate = forms.BooleanField(required=False, label="Hold back as a candidate (the site does not see it yet)")


class TransitionForm(forms.Form):
    action = forms.CharField(max_length=12, widget=forms.HiddenInput)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label="Message")
    corrected = forms.BooleanField(required=False, label="I have corrected the value on its form")


class FilterForm(forms.Form):
    site = forms.CharField(required=False, max_length=8)
    state = forms.ChoiceField(required=False, choices=[("", "any"), ("active", "candidate, open or answered"),
                                                       *Query.State.choices])
    min_age_days = forms.IntegerField(required=False, min_value=0, max_value=3650, label="Open at least (days)")
    participant = forms.CharField(required=False, max_length=20)


class VerifyForm(forms.Form):
    record = forms.CharField(max_length=120)
    note = forms.CharField(required=False, max_length=400)


class SignForm(forms.Form):
    meaning = forms.ChoiceField(choices=Signature.Meaning.choices)
    password = forms.CharField(widget=forms.PasswordInput, max_length=200, label="Re-enter your password")
    code = forms.CharField(required=False, max_length=CODE_MAX_LENGTH,
                           label="Code from your authenticator app (if you have one), or a recovery code")


class LockForm(forms.Form):
    record = forms.CharField(required=False, max_length=120)
    reason = forms.CharField(max_length=400)


class UnlockForm(forms.Form):
    reason = forms.CharField(max_length=400)


class PlanForm(forms.Form):
    rules = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}),
                            help_text='JSON: form -> {"all": true} or {"first": N, "percent": X}')
    seed = forms.CharField(required=False, max_length=64, help_text="64 hex digits; empty: drawn now")
    note = forms.CharField(required=False, max_length=400)
