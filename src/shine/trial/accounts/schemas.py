from ninja import Schema
from pydantic import Field

from shine.api.inputs import Input

from .second_factor import CODE_MAX_LENGTH
from .services import PASSWORD_MAX_LENGTH


class SiteOut(Schema):
    code: str
    name: str


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    role_label: str
    blinded: bool
    cross_site: bool
    sites: list[SiteOut]
    permissions: list[str]


class PasswordChangeIn(Input):
    current_password: str = Field(..., max_length=PASSWORD_MAX_LENGTH, description="the password now, re-entered")
    new_password: str = Field(..., description=f"at least 12 characters, up to {PASSWORD_MAX_LENGTH}; "
                                               "not a common password")
    code: str = Field("", max_length=CODE_MAX_LENGTH,
                      description="a second-factor code, when the user has an authenticator")


class PasswordChangedOut(Schema):
    username: str
    changed: bool
