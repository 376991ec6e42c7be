"""The allocation API: randomise and unblind (site staff), lists and packs (unblinded roles)."""

from __future__ import annotations

import dataclasses

from ninja import Header, Router, Status

from shine.trial.enrollment.selectors import participant_for_user
from shine.trial.errors import Refused, rid

from . import selectors, services
from .schemas import (
    AllocationOut,
    CreatePacksIn,
    GenerateListIn,
    ImportListIn,
    ListOut,
    PackEventIn,
    PackOut,
    RandomisedOut,
    RandomiseIn,
    UnblindIn,
    UnblindingOut,
    UnblindOut,
)

router = Router(tags=["allocation"])


@router.post("/participants/{participant_id}/randomise", response=RandomisedOut)
def randomise(request, participant_id: str, body: RandomiseIn,
              idempotency_key: str = Header("", alias="Idempotency-Key")):
    p = participant_for_user(request.user, participant_id, write=True)
    request_id = body.request_id or idempotency_key
    if not request_id:
        raise Refused("send a request id (request_id or the Idempotency-Key header) so that a retry is safe",
                      field="request_id")
    r = services.randomise(p, user=request.user, weight_kg=body.weight_kg, weight_estimated=body.weight_estimated,
                           request_id=request_id)
    return dataclasses.asdict(r)


@router.post("/participants/{participant_id}/unblind", response=UnblindOut)
def unblind(request, participant_id: str, body: UnblindIn):
    p = participant_for_user(request.user, participant_id, write=True)
    arm = services.emergency_unblind(p, user=request.user, reason=body.reason, password=body.password, code=body.code,
                                     request_id=rid(request))
    u = p.unblindings.filter(user=request.user).order_by("-at").first()
    return {"participant": p.number, "allocation": arm, "unblinded_at": u.at}


@router.get("/unblindings", response=list[UnblindingOut])
def unblindings(request):
    return [{"id": u.pk, "participant": u.participant.number, "site": u.participant.site.code,
             "investigator": u.user.username, "at": u.at, "reason": u.clinical_reason}
            for u in selectors.unblindings_for(request.user)]


def list_out(user, rlist) -> dict:
    qc = selectors.qc_report(user, rlist)
    return {**{k: getattr(rlist, k) for k in ("name", "source", "seed", "algorithm", "block_sizes", "length_per_site",
                                              "sha256", "active", "created_at")},
            "id": rlist.pk, "intact": services.verify_list(rlist), "qc_ok": qc.ok,
            "qc": [dataclasses.asdict(s) for s in qc.sites]}


@router.get("/allocation/lists", response=list[ListOut])
def lists(request):
    return [list_out(request.user, rl) for rl in selectors.lists_for(request.user)]


@router.post("/allocation/lists", response={201: ListOut})
def generate_list(request, body: GenerateListIn):
    rlist = services.generate_list(user=request.user, length_per_site=body.length_per_site, name=body.name,
                                   request_id=rid(request))
    return Status(201, list_out(request.user, rlist))


@router.post("/allocation/lists/import", response={201: ListOut})
def import_list(request, body: ImportListIn):
    try:
        rlist = services.import_list(user=request.user, text=body.csv, name=body.name, request_id=rid(request))
    except Refused as exc:  # the service names the page's upload field; here the CSV text is the field
        raise Refused(str(exc), field="csv" if exc.field == "file" else exc.field, status=exc.status) from None
    return Status(201, list_out(request.user, rlist))


@router.get("/allocation/lists/{list_id}", response=ListOut)
def get_list(request, list_id: int):
    return list_out(request.user, selectors.list_for_user(request.user, list_id))


def pack_out(p) -> dict:
    return {"number": p.number, "arm": p.arm, "status": p.status, "site": p.site.code if p.site else None}


@router.get("/allocation/packs", response=list[PackOut])
def packs(request, site: str = "", status: str = ""):
    qs = selectors.packs_for(request.user)
    if site:
        qs = qs.filter(site__code=site.upper())
    if status:
        qs = qs.filter(status=status)
    return [pack_out(p) for p in qs]


@router.post("/allocation/packs", response={201: list[PackOut]})
def create_packs(request, body: CreatePacksIn):
    packs = services.create_packs(user=request.user, count_per_arm=body.count_per_arm, request_id=rid(request))
    return Status(201, [pack_out(p) for p in packs])


@router.post("/allocation/packs/events", response=list[PackOut])
def pack_events(request, body: PackEventIn):
    return [pack_out(p) for p in services.pack_event(user=request.user, numbers=body.numbers, kind=body.kind,
                                                     site_code=body.site, note=body.note, request_id=rid(request))]


@router.get("/allocation/allocations", response=list[AllocationOut])
def allocations(request):
    return [{"participant": a.participant.number, "site": a.participant.site.code,
             "randomisation_number": a.randomisation_number, "arm": a.slot.arm, "pack_number": a.pack.number,
             "allocated_at": a.allocated_at, "allocated_by": a.allocated_by.username}
            for a in selectors.allocations_for(request.user)]
