"""Reads, always scoped to what the user may see (DESIGN.md, principle 6), and the gates beside them.

One answer for "exists but not yours" everywhere (docs/architecture.md, "Reads and access"): a record at a
site the user may not see is **404** (no hint that it exists); an action the user's role may not take on a
record it may see is **403**.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils.translation import gettext as _

from shine import protocol

from .models import Membership, Site, User
from .roles import PERM_LABELS, Perm, may_export


def require(user: User, perm: Perm) -> None:
    if not (user.is_authenticated and user.can(perm)):
        raise PermissionDenied(_("your role may not %(action)s")
                               % {"action": PERM_LABELS.get(perm, perm.value.replace("_", " "))})


def require_export(user: User, *, blinded: bool) -> None:
    """403 unless the role may make this export (``roles.may_export``)."""
    if not (user.is_authenticated and may_export(user, blinded=blinded)):
        raise PermissionDenied(_("your role may not make this export") if blinded else
                               _("an unblinded export needs a role that may see the allocation"))


def member_site_ids(user: User) -> set[int]:
    """Sites where the user works (site staff); cross-site roles work at none."""
    if not user.is_authenticated or user.role_def.cross_site:
        return set()
    return set(user.memberships.values_list("site_id", flat=True))


def works_at(user: User, site_id: int) -> bool:
    """Whether the user is staff of this site (a member; cross-site roles work at no site)."""
    return site_id in member_site_ids(user)


def require_site_staff(user: User, site_id: int, *, to: str | None = None) -> None:
    """The one site-staff gate of every write on a site's records (screening, consent, randomisation, case
    report forms, unblinding): the user works at the site. Otherwise 404 when the user may not see the site's
    records at all (another site's staff: as for a record that does not exist), 403 when the user may see them
    but not act on them (a cross-site role works at no site)."""
    if works_at(user, site_id):
        return
    if user.is_authenticated and user.role_def.cross_site:
        raise PermissionDenied(_("only staff of the site may %(action)s") % {"action": to or _("change its records")})
    raise Http404("no such record")


def sites_for(user: User) -> QuerySet[Site]:
    if user.role_def.cross_site:
        return Site.objects.all()
    return Site.objects.filter(memberships__user=user)


def site_filter(params) -> str:
    """The site code a page's filter (``?site=``) names, upper-cased, when it is one of the trial's sites; else ""
    (no filter). Anything else typed into the address, a NUL byte included, never reaches a query."""
    code = str(params.get("site") or "").strip().upper()
    return code if code in protocol.load().site_codes else ""


def scope_to_sites(queryset: QuerySet, user: User, site_field: str = "site") -> QuerySet:
    """Limit a queryset of trial records to the user's sites unless the role is cross-site."""
    if user.role_def.cross_site:
        return queryset
    return queryset.filter(**{f"{site_field}__in": member_sites_sql(user)})


def member_sites_sql(user: User) -> RawSQL:
    """The ids of the sites where the user is a member (the sites of ``sites_for`` for site staff), as a
    subquery to filter on. Plain SQL on the memberships: every scoped request runs it, and compiling the ORM's
    subquery (with its join to the sites) cost more than the lookup it serves."""
    table = connection.ops.quote_name(Membership._meta.db_table)
    return RawSQL(f"SELECT site_id FROM {table} WHERE user_id = %s", (user.pk,))


def site_for_user(user: User, code: str) -> Site:
    """The site with ``code`` if the user may see its records; 404 otherwise (no hint that it exists)."""
    require(user, Perm.VIEW_SITES)
    # a NUL byte names no site (and PostgreSQL refuses it in a query)
    site = sites_for(user).filter(code=code).first() if "\x00" not in code else None
    if site is None:
        raise Http404("no such site")
    return site
