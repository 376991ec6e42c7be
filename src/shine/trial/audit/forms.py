from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label=_("User"))
    object_type = forms.CharField(required=False, max_length=80, label=_("Record type"))
    object_id = forms.CharField(required=False, max_length=64, label=_("Record id"))
    action = forms.CharField(required=False, max_length=40, label=_("Action"),
                             widget=forms.TextInput(attrs={"list": "audit-actions"}))
    date_from = forms.DateField(required=False, label=_("From (date)"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=_("To (date)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", gettext("must be on or after the 'from' date"))
        return data
