from ninja import Router

from . import selectors, services
from .roles import Perm
from .schemas import MeOut, PasswordChangedOut, PasswordChangeIn, SiteOut

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut)
def me(request):
    user = request.user
    r = user.role_def
    return {"username": user.username, "full_name": user.full_name, "role": user.role, "role_label": str(r.label),
            "blinded": r.blinded, "cross_site": r.cross_site,
            "sites": list(selectors.sites_for(user)), "permissions": sorted(p.value for p in r.perms)}


@router.get("/sites", response=list[SiteOut])
def sites(request):
    selectors.require(request.user, Perm.VIEW_SITES)
    return list(selectors.sites_for(request.user))


@router.get("/sites/{code}", response=SiteOut)
def site(request, code: str):
    return selectors.site_for_user(request.user, code)


@router.post("/me/password", response=PasswordChangedOut)
def change_password(request, body: PasswordChangeIn):
    """Change your own password: the current one again, and a code if you have an authenticator. Your other
    sessions end."""
    services.change_password(request, current_password=body.current_password, new_password=body.new_password,
                             code=body.code)
    return {"username": request.user.username, "changed": True}
