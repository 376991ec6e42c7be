"""The analysis export as one function, shared by ``shine export analysis-dataset`` and the web download."""

from __future__ import annotations

from pathlib import Path

from django.db import transaction
from django.utils import timezone

from shine.trial.accounts.models import User
from shine.trial.accounts.selectors import require_export
from shine.trial.audit import services as audit
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant

from . import arms
from .analysis_dataset import ExportResult, write_export


def export_dataset(out_dir: str | Path, *, user: User | None, blinded: bool, request_id: str = "",
                   parquet: bool = True) -> ExportResult:
    """Write the analysis data set and audit the export.

    Unblinded: only for a user whose role may see the allocation (the arm comes from the allocation
    module's ``allocations_for(user)``). Blinded: arms written as A/B (see :mod:`.arms`); a user, when
    given, needs a role that ``roles.may_export`` (blinded); without a user (the command line, run by
    whoever operates the server) the export is audited as a system action.
    """
    if user is None and not blinded:
        raise PermissionError("an unblinded export needs --user with a role that may see the allocation")
    if user is not None:
        require_export(user, blinded=blinded)
    cutoff = timezone.now()
    if blinded:
        numbers = set(Participant.objects.filter(randomised_at__isnull=False, randomised_at__lte=cutoff)
                      .values_list("number", flat=True).iterator(chunk_size=2000))
        codes = arms.coded_arms(numbers)

        def arms_for(chunk: set[str]) -> dict[str, str]:
            return {n: codes[n] for n in chunk if n in codes}
    else:
        from shine.trial.allocation.selectors import allocations_for

        def arms_for(chunk: set[str]) -> dict[str, str]:
            return {a.participant.number: a.slot.arm
                    for a in allocations_for(user).filter(participant__number__in=chunk)}
    result = write_export(out_dir, arms_for=arms_for, blinded=blinded, cutoff=cutoff, parquet=parquet)
    actor = Actor.of(user, request_id) if user is not None else Actor.system("export")
    with transaction.atomic():
        audit.record(actor=actor, action="export", object_type="records.analysis_dataset",
                     object_id=result.data_cutoff,
                     changes={"blinded": [None, blinded], "rows": [None, result.rows]})
    return result
