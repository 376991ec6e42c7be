"""Randomisation lists: generation (pure and through the service), manifest, import checks, QC, verify."""

from collections import Counter

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from shine import protocol
from shine.trial.allocation import lists, services
from shine.trial.allocation.models import RandomisationList, Slot
from shine.trial.audit.services import audited_writes
from shine.trial.audit.verify import verify
from shine.trial.errors import Refused

P = protocol.load()
ARMS = P.arms


def test_generate_is_stratified_balanced_and_reproducible_from_the_seed():
    seed = lists.new_seed()
    entries = lists.generate(seed=seed, sites=P.site_codes, length=50, block_sizes=(2, 4, 6), arms=ARMS)
    assert entries == lists.generate(seed=seed, sites=P.site_codes, length=50, block_sizes=(2, 4, 6), arms=ARMS)
    assert entries != lists.generate(seed=seed + 1, sites=P.site_codes, length=50, block_sizes=(2, 4, 6), arms=ARMS)
    for code in P.site_codes:
        rows = [e for e in entries if e.site == code]
        assert 50 <= len(rows) < 56 and [e.position for e in rows] == list(range(1, len(rows) + 1))
        blocks = {}
        for e in rows:
            blocks.setdefault(e.block, []).append(e.arm)
        assert all(len(b) in (2, 4, 6) and Counter(b)[ARMS[0]] * 2 == len(b) for b in blocks.values())
        assert rows[0].number == (P.site_codes.index(code) + 1) * 10_000 + 1
    report = lists.qc(entries, ARMS)
    assert report.ok and all(s.active == s.control and s.max_running_imbalance <= 3 for s in report.sites)


def test_block_sizes_are_drawn_uniformly():
    entries = lists.generate(seed=7, sites=("RH",), length=6000, block_sizes=(2, 4, 6), arms=ARMS)
    counts = Counter(size for _, size in {(e.block, e.block_size) for e in entries})
    n = sum(counts.values())
    assert all(abs(counts[b] / n - 1 / 3) < 0.03 for b in (2, 4, 6)), counts


def test_manifest_hash_pins_the_content():
    entries = lists.generate(seed=1, sites=("RH", "HGH"), length=10, block_sizes=(2, 4, 6), arms=ARMS)
    text = lists.manifest(entries)
    assert text.splitlines()[0] == ",".join(lists.HEADER)
    assert lists.parse(text, sites=P.site_codes, arms=ARMS, block_sizes=(2, 4, 6)) == sorted(
        entries, key=lambda e: (e.site, e.position))
    flipped = [e if i else lists.Entry(e.site, e.position, e.number, e.block, e.block_size,
                                       ARMS[1] if e.arm == ARMS[0] else ARMS[0]) for i, e in enumerate(entries)]
    assert lists.sha256(flipped) != lists.sha256(entries)
    assert lists.sha256(list(reversed(entries))) == lists.sha256(entries)  # canonical order


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.replace("site,position", "centre,position"), "header"),
    (lambda t: t.replace("\nRH,", "\nXX,", 1), "unknown site"),
    (lambda t: t.replace(ARMS[1], ARMS[0], 1), "unbalanced"),
    (lambda t: "\n".join(t.splitlines()[:-1]) + "\n", "has"),
    (lambda t: t.replace("\nRH,2,", "\nRH,3,", 1), "positions"),
])
def test_import_checks_every_rule(edit, message):
    text = lists.manifest(lists.generate(seed=3, sites=("RH",), length=12, block_sizes=(2, 4, 6), arms=ARMS))
    with pytest.raises(ValueError, match=message):
        lists.parse(edit(text), sites=P.site_codes, arms=ARMS, block_sizes=(2, 4, 6))


def test_generate_service_records_seed_and_hash_and_needs_an_unblinded_role(users, client_for, api_for):
    for persona in ("nurse_hgh", "investigator_hgh", "trial_manager", "monitor", "dsmb_statistician"):
        with pytest.raises(Exception):
            services.generate_list(user=users[persona], length_per_site=10)
    c = client_for("pharmacist")
    r = c.post("/allocation/lists/new/", {"name": "main", "length_per_site": "0"})
    assert r.status_code == 400
    r = c.post("/allocation/lists/new/", {"name": "main", "length_per_site": "12"})
    assert r.status_code == 302
    rlist = RandomisationList.objects.get()
    assert len(rlist.seed) == 32 and rlist.source == "generated" and rlist.created_by == users["pharmacist"]
    entries = services.list_entries(rlist)
    assert entries == sorted(lists.generate(seed=int(rlist.seed, 16), sites=P.site_codes, length=12,
                                            block_sizes=P.randomisation.block_sizes, arms=ARMS,
                                            site_order=P.site_codes), key=lambda e: (e.site, e.position))
    assert lists.sha256(entries) == rlist.sha256 and services.verify_list(rlist)
    page = c.get(f"/allocation/lists/{rlist.pk}/").content.decode()
    assert rlist.sha256 in page and "Every block balanced" in page
    manifest = c.get(f"/allocation/lists/{rlist.pk}/manifest.csv")
    assert manifest["Content-Disposition"] == f'attachment; filename="randomisation-list-{rlist.pk}.csv"'
    assert lists.sha256(lists.parse(manifest.content.decode(), sites=P.site_codes, arms=ARMS,
                                    block_sizes=P.randomisation.block_sizes)) == rlist.sha256
    with pytest.raises(Refused, match="already active"):
        services.generate_list(user=users["pharmacist"], length_per_site=10)
    out = api_for("dsmb_statistician").get("/api/v1/allocation/lists").json()
    assert out[0]["sha256"] == rlist.sha256 and out[0]["qc_ok"] and out[0]["intact"]
    assert api_for("nurse_hgh").get("/api/v1/allocation/lists").status_code == 403
    assert verify().ok


def test_import_through_the_api_and_the_verify_command(users, api_for, capsys):
    text = lists.manifest(lists.generate(seed=11, sites=P.site_codes, length=8, block_sizes=(2, 4, 6), arms=ARMS))
    api = api_for("pharmacist")
    bad = text.replace(ARMS[1], ARMS[0], 1)
    r = api.post("/api/v1/allocation/lists/import", {"csv": bad}, content_type="application/json")
    assert r.status_code == 400 and "unbalanced" in r.json()["detail"] and not RandomisationList.objects.exists()
    r = api.post("/api/v1/allocation/lists/import", {"csv": text, "name": "from the CRO"},
                 content_type="application/json")
    assert r.status_code == 201 and r.json()["source"] == "imported" and r.json()["seed"] == ""
    call_command("allocation", "verify")
    assert "OK: 1 lists match" in capsys.readouterr().out
    slot = Slot.objects.order_by("pk").first()
    with audited_writes():  # tampering behind the services' back
        Slot.objects.filter(pk=slot.pk).update(arm=ARMS[1] if slot.arm == ARMS[0] else ARMS[0])
    with pytest.raises(CommandError, match="differ from their manifest"):
        call_command("allocation", "verify")
    assert not verify().ok


def test_an_oversized_csv_field_is_refused_clearly(users, api_for, client_for):
    text = ",".join(lists.HEADER) + "\nHGH,1,1,1,2," + "x" * 140_000 + "\n"
    r = api_for("pharmacist").post("/api/v1/allocation/lists/import", {"csv": text}, content_type="application/json")
    assert r.status_code == 400 and "not readable CSV" in r.json()["detail"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("list.csv", text.encode(), content_type="text/csv")
    page = client_for("pharmacist").post("/allocation/lists/import/", {"name": "big", "file": upload})
    assert page.status_code == 400 and "not readable CSV" in page.content.decode()
    assert not RandomisationList.objects.exists()
