from django import forms

from .models import Recommendation


class RecommendationForm(forms.Form):
    meeting_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    decision = forms.ChoiceField(choices=Recommendation.Decision.choices)
    rationale = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000)
    members = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=3_000,
                              help_text="the members who signed, one name per line")

    def clean_members(self):
        return [line.strip() for line in self.cleaned_data["members"].splitlines() if line.strip()]
