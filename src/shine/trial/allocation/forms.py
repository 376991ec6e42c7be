"""Page forms of the allocation module: parsing only; rules are in services.py."""

from django import forms
from django.utils.translation import gettext_lazy as _

from shine import protocol as protocol_mod
from shine.trial.accounts.second_factor import CODE_MAX_LENGTH


class GenerateListForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, label=_("Name"))
    length_per_site = forms.IntegerField(min_value=1, label=_("Length per site (at least; whole blocks)"),
                                         initial=lambda: protocol_mod.load().max_sample_size // 2)


class ImportListForm(forms.Form):
    name = forms.CharField(max_length=80, required=False, label=_("Name"))
    file = forms.FileField(label=_("CSV file with the columns of a list's manifest (download one from a list's "
                                   "page)"))


class CreatePacksForm(forms.Form):
    count_per_arm = forms.IntegerField(min_value=1, max_value=1000, label=_("Packs per arm"))


class PackEventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Event"), choices=[("received", _("received at a site")),
                                                       ("returned", _("returned")), ("destroyed", _("destroyed"))])
    site = forms.ChoiceField(required=False, label=_("Site (received)"))
    numbers = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                              label=_("Pack numbers (space or comma separated)"))
    note = forms.CharField(max_length=400, required=False, label=_("Note"))

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", "—")] + [(s.code, s.code) for s in sites]


class UnblindForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             label=_("Clinical reason for emergency unblinding"))
    password = forms.CharField(widget=forms.PasswordInput, max_length=200, label=_("Your password (again)"))
    code = forms.CharField(required=False, max_length=CODE_MAX_LENGTH,
                           label=_("Code from your authenticator app (if you have one), or a recovery code"))
