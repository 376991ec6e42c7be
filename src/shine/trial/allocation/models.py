"""Randomisation lists and their slots, treatment packs and their ledger, allocations, unblindings.

The only tables that hold the arm are :class:`Slot` and :class:`Pack` (``arm``, plus the list's ``seed``
that regenerates it); their arm fields are ``audit_blinded``, and only this module reads them (see
selectors.py). Everything a blinded role can reach (participants, allocations, pack numbers, unblinding
records) is arm-free.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from shine.trial.accounts.models import Site
from shine.trial.audit.models import AuditedModel


class RandomisationList(AuditedModel):
    name = models.CharField(max_length=80)
    source = models.CharField(max_length=20, choices=[("generated", _("generated in the app")),
                                                      ("imported", _("imported and checked"))])
    algorithm = models.CharField(max_length=300, blank=True)
    seed = models.CharField(max_length=64, blank=True)  # hex
    block_sizes = models.CharField(max_length=40)  # "2,4,6"
    length_per_site = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    # the seed regenerates the list and the list's hash is a function of its arms: both blinded like the arm
    audit_blinded = ("seed", "sha256")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"list {self.pk} {self.name}"


class Slot(AuditedModel):
    """One entry of a list: the stratum (site), position, randomisation number, block, and the arm."""

    rlist = models.ForeignKey(RandomisationList, on_delete=models.PROTECT, related_name="slots")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    block = models.PositiveIntegerField()
    block_size = models.PositiveSmallIntegerField()
    arm = models.CharField(max_length=40)
    used_at = models.DateTimeField(null=True, blank=True)

    # the block structure helps guess the next arm: concealed like the arm itself
    audit_blinded = ("arm", "block", "block_size")

    class Meta:
        ordering = ["rlist", "site", "position"]
        constraints = [
            models.UniqueConstraint(fields=["rlist", "site", "position"], name="alloc_slot_position"),
            models.UniqueConstraint(fields=["rlist", "number"], name="alloc_slot_number"),
        ]
        indexes = [models.Index(fields=["rlist", "site", "used_at", "position"], name="alloc_slot_next_idx")]


class Pack(AuditedModel):
    """A treatment pack (kit). Its number is what blinded staff see; the arm only the pharmacy."""

    class Status(models.TextChoices):
        CENTRAL = "central", _("at the pharmacy")
        AT_SITE = "at_site", _("at the site, available")
        DISPENSED = "dispensed", _("dispensed to a participant")
        RETURNED = "returned", _("returned")
        DESTROYED = "destroyed", _("destroyed")

    number = models.CharField(max_length=20, unique=True)
    arm = models.CharField(max_length=40)
    status = models.CharField(max_length=20, choices=Status.choices)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField()

    audit_blinded = ("arm",)

    class Meta:
        ordering = ["number"]
        indexes = [models.Index(fields=["site", "status", "arm"], name="alloc_pack_stock_idx")]

    def __str__(self) -> str:
        return self.number


class PackEvent(AuditedModel):
    """The pack ledger: append-only (services create events, never change or delete them)."""

    class Kind(models.TextChoices):
        CREATED = "created", _("labelled at the pharmacy")
        RECEIVED = "received", _("received at the site")
        DISPENSED = "dispensed", _("dispensed")
        RETURNED = "returned", _("returned")
        DESTROYED = "destroyed", _("destroyed")

    pack = models.ForeignKey(Pack, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                           related_name="+")
    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    note = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ["at", "pk"]


class Allocation(AuditedModel):
    """A randomisation: participant, slot, pack, and the dosing computed from the weight. No arm here."""

    participant = models.OneToOneField("enrollment.Participant", on_delete=models.PROTECT,
                                       related_name="allocation")
    slot = models.OneToOneField(Slot, on_delete=models.PROTECT, related_name="allocation")
    pack = models.OneToOneField(Pack, on_delete=models.PROTECT, related_name="allocation")
    randomisation_number = models.PositiveIntegerField(unique=True)
    allocated_at = models.DateTimeField()
    allocated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    request_id = models.CharField(max_length=80, unique=True)
    weight_kg = models.FloatField()
    infusion_rate_ml_per_h = models.FloatField()
    planned_volume_ml = models.FloatField()

    class Meta:
        ordering = ["allocated_at", "pk"]


class Unblinding(AuditedModel):
    """An emergency unblinding: who, which participant, when, why. The arm is not copied here."""

    participant = models.ForeignKey("enrollment.Participant", on_delete=models.PROTECT, related_name="unblindings")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="unblindings")
    at = models.DateTimeField()
    clinical_reason = models.TextField()  # not "reason": that name is the audit services' reason for a change

    class Meta:
        ordering = ["-at", "-pk"]
