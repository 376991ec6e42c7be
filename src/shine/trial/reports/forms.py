from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Recommendation


class RecommendationForm(forms.Form):
    meeting_date = forms.DateField(label=_("Meeting date"), widget=forms.DateInput(attrs={"type": "date"}))
    decision = forms.ChoiceField(label=_("Decision"), choices=Recommendation.Decision.choices)
    rationale = forms.CharField(label=_("Rationale"), widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000)
    members = forms.CharField(label=_("Members"), widget=forms.Textarea(attrs={"rows": 3}), max_length=3_000,
                              help_text=_("the members who signed, one name per line"))

    def clean_members(self):
        return [line.strip() for line in self.cleaned_data["members"].splitlines() if line.strip()]
