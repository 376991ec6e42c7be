from django import forms


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(max_length=256, widget=forms.PasswordInput)


class CodeForm(forms.Form):
    code = forms.CharField(max_length=32, label="Code")


class PasswordChangeForm(forms.Form):
    current_password = forms.CharField(max_length=256, widget=forms.PasswordInput)
    new_password = forms.CharField(max_length=256, widget=forms.PasswordInput)
    code = forms.CharField(max_length=32, required=False)
