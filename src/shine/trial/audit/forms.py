from django import forms


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="User")
    object_type = forms.CharField(required=False, max_length=80, label="Record type")
    object_id = forms.CharField(required=False, max_length=64, label="Record id")
    action = forms.CharField(required=False, max_length=40, widget=forms.TextInput(attrs={"list": "audit-actions"}))
    date_from = forms.DateField(required=False, label="From (date)", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label="To (date)", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "must be on or after the 'from' date")
        return data
