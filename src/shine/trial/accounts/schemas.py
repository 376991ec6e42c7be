from ninja import Schema
from pydantic import Field

from shine.api.inputs import Input


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
    current_password: str = Field(..., description="the password now, re-entered")
    new_password: str = Field(..., description="at least 12 characters, up to 256; not a common password")
    code: str = Field("", description="a second-factor code, when the user has an authenticator")


class PasswordChangedOut(Schema):
    username: str
    changed: bool
