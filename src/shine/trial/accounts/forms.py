from django import forms

from .second_factor import CODE_MAX_LENGTH


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(max_length=256, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=CODE_MAX_LENGTH, label="Code")


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(max_length=256, widget=forms.PasswordInput)
    new_password = forms.CharField(max_length=256, widget=forms.PasswordInput)
    code = forms.CharField(max_length=CODE_MAX_LENGTH, required=False)
