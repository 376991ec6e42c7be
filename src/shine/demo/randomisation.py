"""Demo data for randomisation: an active randomisation list and packs at every site, made through the services
(so ``shine audit verify`` passes). Called by ``shine demo``; safe to call again (it tops up, never duplicates).
"""

from __future__ import annotations

from shine import protocol as protocol_mod
from shine.trial.accounts.models import Site, User
from shine.trial.allocation import services
from shine.trial.allocation.models import Pack, RandomisationList


def setup_randomisation(*, pharmacist: User, length_per_site: int = 60, packs_per_arm_per_site: int = 5,
                        sites: tuple[str, ...] | None = None) -> list[str]:
    """Ensure an active list and at least ``packs_per_arm_per_site`` available packs of each arm per site
    (``sites``: these site codes only; default every site). Returns one line per thing done."""
    done = []
    if not RandomisationList.objects.filter(active=True).exists():
        rlist = services.generate_list(user=pharmacist, length_per_site=length_per_site, name="demo list",
                                       sites=sites)
        done.append(f"randomisation list {rlist.pk}: {rlist.slots.count()} slots, sha256 {rlist.sha256[:12]}…")
    arms = protocol_mod.load().arms
    sites = list(Site.objects.filter(code__in=sites) if sites else Site.objects.all())
    short = {(site.code, arm): max(0, packs_per_arm_per_site - Pack.objects.filter(
        site=site, status=Pack.Status.AT_SITE, arm=arm).count()) for site in sites for arm in arms}
    lacking = max(sum(n for (_, a), n in short.items() if a == arm)
                  - Pack.objects.filter(status=Pack.Status.CENTRAL, arm=arm).count() for arm in arms)
    if lacking > 0:
        services.create_packs(user=pharmacist, count_per_arm=lacking)
        done.append(f"{lacking * len(arms)} packs labelled at the pharmacy")
    for (code, arm), need in short.items():
        if need:
            numbers = list(Pack.objects.filter(status=Pack.Status.CENTRAL, arm=arm).order_by("number")
                           .values_list("number", flat=True)[:need])
            services.pack_event(user=pharmacist, numbers=numbers, kind="received", site_code=code,
                                note="demo shipment")
            done.append(f"{need} packs received at {code}")
    return done
