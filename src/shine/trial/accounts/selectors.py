"""Reads, always scoped to what the user may see (DESIGN.md, principle 6)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404

from .models import Membership, Site, User
from .roles import Perm


def require(user: User, perm: Perm) -> None:
    if not (user.is_authenticated and user.can(perm)):
        raise PermissionDenied(f"your role may not {perm.value.replace('_', ' ')}")


def sites_for(user: User) -> QuerySet[Site]:
    if user.role_def.cross_site:
        return Site.objects.all()
    return Site.objects.filter(memberships__user=user)


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
