"""Users, their role and site memberships, sites, and hashed API tokens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models

from shine.trial.audit.models import AuditedModel, AuditedQuerySet

from .roles import ROLE_CHOICES, ROLES, Role


class Site(AuditedModel):
    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=120)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class UserManager(BaseUserManager.from_queryset(AuditedQuerySet)):
    """``createsuperuser`` and friends go through the audited service too."""

    def create_user(self, username, password=None, role="nurse", **extra):
        from shine.trial.audit.services import Actor

        from .services import create_user

        user, _ = create_user(actor=Actor.system("createuser"), username=username, role=role, password=password,
                              sites=extra.pop("sites", ()), **extra)
        return user

    def create_superuser(self, username, password=None, **extra):
        extra.setdefault("role", "admin")
        return self.create_user(username, password, **extra)


class User(AuditedModel, AbstractBaseUser):
    username = models.CharField(max_length=150, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    role = models.CharField(max_length=40, choices=ROLE_CHOICES)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(auto_now_add=True)
    # the pages' language; blank follows the browser (shine.web.language)
    language = models.CharField(max_length=8, blank=True, choices=settings.LANGUAGES)

    audit_exclude = ("password", "last_login")

    objects = UserManager()
    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["role"]

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.username

    @property
    def role_def(self) -> Role:
        return ROLES[self.role]

    def can(self, perm) -> bool:
        return self.is_active and self.role_def.can(perm)

    @property
    def is_staff(self) -> bool:  # Django's contrib templates ask for it; no admin site here
        return False


class Membership(AuditedModel):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "site"], name="one_membership_per_site")]


class ApiToken(AuditedModel):
    """An API token; only its SHA-256 digest is stored, the token itself is shown once."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="tokens")
    name = models.CharField(max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    audit_exclude = ("last_used_at",)
