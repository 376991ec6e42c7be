from ninja import Schema


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
