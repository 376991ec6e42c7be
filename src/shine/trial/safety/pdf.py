"""A printable case report (CIOMS-like layout, reportlab) of the case output: the same elements, the same
blind (the suspect product is named only to a user who saw the participant's arm)."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas


def _rows(out: dict) -> list[tuple[str, str]]:
    r, cz = out["reaction"], out["causality"]
    exp = out.get("expectedness")
    return [
        ("1. EU trial number", out["eu_trial_number"]), ("2. Sponsor study number", out["sponsor_study_number"]),
        ("3. Coded subject", out["coded_subject"]),
        ("4. Reporter", f"{out['reporter']['qualification']}, site {out['reporter']['site']}"),
        ("5. Reaction (verbatim)", r["verbatim"]),
        ("6. MedDRA", f"{r['meddra_code']} (version {r['meddra_version']})" if r["meddra_code"] else "not coded"),
        ("7. Onset", r["onset"]), ("8. Seriousness", ", ".join(c.replace("_", " ") for c in r["seriousness_criteria"])
                                   or "not serious"),
        ("9. Outcome", r["outcome"].replace("_", " ")), ("10. Suspect product", out["suspect_product"]),
        ("11. Active substance", out["active_substance"]),
        ("12. Causality", f"investigator: {cz['investigator']}; sponsor: {cz['sponsor'] or 'no opinion'}"),
        ("13. Expectedness", "not assessed" if not exp else
         f"{'expected' if exp['expected'] else 'unexpected'} (RSI {exp['rsi_version']})"),
        ("14. Sender's case id", out["senders_case_id"]), ("15. Initial receipt", out["initial_receipt_date"]),
        ("16. Most recent information", out["most_recent_information_date"]),
        ("17. Worldwide case id", out["worldwide_case_id"]), ("18. Sender id", out["sender_id"]),
        ("19. Case version", str(out["case_version"])),
    ]


def case_pdf(out: dict, *, trial: str) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    c.setTitle(f"{trial} suspected adverse reaction report {out['senders_case_id']}")
    width, height = A4
    y = height - 20 * mm
    c.setFont("Helvetica-Bold", 14)
    c.drawString(15 * mm, y, f"{trial}: suspected adverse reaction report (CIOMS-like)")
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
