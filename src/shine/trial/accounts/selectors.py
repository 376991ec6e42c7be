"""Reads, always scoped to what the user may see (DESIGN.md, principle 6)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from .models import Site, User
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
    return queryset.filter(**{f"{site_field}__in": sites_for(user)})


def site_for_user(user: User, code: str) -> Site:
    """The site with ``code`` if the user may see its records; 404 otherwise (no hint that it exists)."""
    require(user, Perm.VIEW_SITES)
    site = sites_for(user).filter(code=code).first()
    if site is None:
        raise Http404("no such site")
    return site
