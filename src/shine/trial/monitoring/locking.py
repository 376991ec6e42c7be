"""Locks enforced where every write of a case report form happens: the save of the record itself.

Audited records are saved only inside an audit service's transaction (``audit.create``/``update``), so a
refusal raised before the save rolls back the write and its audit event together, whichever path (page, API,
command, demo) called the service.
"""

from __future__ import annotations

from shine.trial.records.models import (Baseline, BloodSample, DailyRecord, Death, Deviation, FollowUp, IcuStay,
                                        InfusionSegment)

# consent events are not locked out: a withdrawal must always be recordable
LOCKABLE = (Baseline, DailyRecord, InfusionSegment, BloodSample, IcuStay, Death, FollowUp, Deviation)


def refuse_locked_write(sender, instance, raw=False, **kwargs):
    if raw:  # fixtures loading
        return
    from .models import Lock
    from .services import assert_not_locked

    if not Lock.objects.filter(participant_id=instance.participant_id, unlocked_at__isnull=True).exists():
        return
    assert_not_locked(instance.participant, instance if instance.pk is not None else None)
