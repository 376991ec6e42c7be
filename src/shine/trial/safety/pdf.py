"""A printable case report (CIOMS-like layout, reportlab) of the case output: the same elements, the same
blind (the suspect product is named only to a user who saw the participant's arm)."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from .models import OUTCOMES, criteria_words
from .output import BLINDED_PRODUCT

QUALIFICATIONS = {"physician": gettext_lazy("physician"), "pharmacist": gettext_lazy("pharmacist"),
                  "other health professional": gettext_lazy("other health professional")}


def _causality(value) -> str:
    return {"related": _("related"), "not related": _("not related")}.get(value, value) if value else _("no opinion")


def _product(value: str) -> str:
    """The blinded words of the case output in the reader's language (a named product stays as it is)."""
    return {BLINDED_PRODUCT: _("trial drug (blinded)"), "blinded": _("blinded")}.get(value, value)


def _rows(out: dict) -> list[tuple[str, str]]:
    """The labels in the active language; the values are the case output's (codes in words)."""
    r, cz = out["reaction"], out["causality"]
    exp = out.get("expectedness")
    reporter = out["reporter"]
    return [
        (_("1. EU trial number"), out["eu_trial_number"]), (_("2. Sponsor study number"), out["sponsor_study_number"]),
        (_("3. Coded subject"), out["coded_subject"]),
        (_("4. Reporter"), _("%(qualification)s, site %(site)s") % {
            "qualification": QUALIFICATIONS.get(reporter["qualification"], reporter["qualification"]),
            "site": reporter["site"]}),
        (_("5. Reaction (verbatim)"), r["verbatim"]),
        (_("6. MedDRA"), _("%(code)s (version %(version)s)") % {"code": r["meddra_code"],
                                                                "version": r["meddra_version"]}
         if r["meddra_code"] else _("not coded")),
        (_("7. Onset"), r["onset"]),
        (_("8. Seriousness"), criteria_words(r["seriousness_criteria"]) or _("not serious")),
        (_("9. Outcome"), str(dict(OUTCOMES).get(r["outcome"], r["outcome"].replace("_", " ")))),
        (_("10. Suspect product"), _product(out["suspect_product"])),
        (_("11. Active substance"), _product(out["active_substance"])),
        (_("12. Causality"), _("investigator: %(investigator)s; sponsor: %(sponsor)s") % {
            "investigator": _causality(cz["investigator"]), "sponsor": _causality(cz["sponsor"])}),
        (_("13. Expectedness"), _("not assessed") if not exp else
         _("%(expectedness)s (RSI %(version)s)") % {
             "expectedness": _("expected") if exp["expected"] else _("unexpected"), "version": exp["rsi_version"]}),
        (_("14. Sender's case id"), out["senders_case_id"]), (_("15. Initial receipt"), out["initial_receipt_date"]),
        (_("16. Most recent information"), out["most_recent_information_date"]),
        (_("17. Worldwide case id"), out["worldwide_case_id"]), (_("18. Sender id"), out["sender_id"]),
        (_("19. Case version"), str(out["case_version"])),
    ]


def case_pdf(out: dict, *, trial: str) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    c.setTitle(_("%(trial)s suspected adverse reaction report %(case)s") % {"trial": trial,
                                                                            "case": out["senders_case_id"]})
    width, height = A4
    y = height - 20 * mm
    c.setFont("Helvetica-Bold", 14)
    c.drawString(15 * mm, y, _("%(trial)s: suspected adverse reaction report (CIOMS-like)") % {"trial": trial})
    y -= 10 * mm
    for label, value in _rows(out):
        c.setFont("Helvetica-Bold", 9)
        c.drawString(15 * mm, y, label)
        c.setFont("Helvetica", 9)
        text = str(value)
        while text:
            c.drawString(70 * mm, y, text[:80])
            text = text[80:]
            y -= 5 * mm
        y -= 2 * mm
        if y < 20 * mm:
            c.showPage()
            y = height - 20 * mm
    c.showPage()
    c.save()
    return buf.getvalue()
