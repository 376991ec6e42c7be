"""The interim reports as PDF (reportlab), from their results.json, with the reader's name and the time of the
download across every page: a printed copy says whose it was."""

from __future__ import annotations

import io
import json
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

# the tables' titles in the reader's language; their rows are the results as computed
TABLE_TITLES = {
    "recruitment_by_month_and_site": gettext_lazy("Recruitment by month and site"),
    "screening_outcomes": gettext_lazy("Screening outcomes"),
    "screening_reasons": gettext_lazy("Screening reasons"),
    "consort_pooled": gettext_lazy("CONSORT flow (pooled)"),
    "baseline_pooled": gettext_lazy("Baseline characteristics (pooled)"),
    "infusion_adherence": gettext_lazy("Infusion adherence"),
    "completeness": gettext_lazy("Completeness of the data"),
    "safety_pooled": gettext_lazy("Safety (pooled)"),
    "data_quality": gettext_lazy("Data quality"),
    "primary_by_arm": gettext_lazy("Primary outcome by group"),
    "mortality_by_arm": gettext_lazy("Mortality by group"),
    "days_alive_without_support_by_arm": gettext_lazy("Days alive without organ support by group"),
    "serious_events_by_arm": gettext_lazy("Serious adverse events by group"),
    "baseline_by_arm": gettext_lazy("Baseline characteristics by group"),
    "consort_by_arm": gettext_lazy("CONSORT flow by group"),
    "deaths_listing": gettext_lazy("Deaths (listing)"),
    "serious_adverse_events_listing": gettext_lazy("Serious adverse events (listing)"),
    "susar_listing": gettext_lazy("SUSARs (listing)"),
    "emergency_unblindings": gettext_lazy("Emergency unblindings"),
}


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "-" if v is None else str(v)


def report_pdf(results_json: bytes, *, title: str, summary: list[str], watermark: str) -> bytes:
    """``summary``: the paragraphs before the tables; every table of ``results["tables"]`` follows."""
    results = json.loads(results_json)
    freeze = results["freeze"]
    stamp = _("Freeze %(id)s · data cut-off %(cutoff)s · input SHA-256 %(sha)s…") % {
        "id": freeze["id"], "cutoff": freeze["data_cutoff"], "sha": freeze["sha256"][:16]}
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    story = [Paragraph(escape(title), styles["Title"]), Paragraph(escape(stamp), small), Spacer(1, 4 * mm)]
    story += [Paragraph(escape(p), styles["BodyText"]) for p in summary]
    for name, rows in results["tables"].items():
        heading = str(TABLE_TITLES.get(name, name.replace("_", " ").capitalize()))
        story += [Spacer(1, 4 * mm), Paragraph(escape(heading), styles["Heading3"]),
                  Paragraph(escape(stamp), small)]
        if not rows:
            story.append(Paragraph(escape(_("none")), styles["BodyText"]))
            continue
        head = list(rows[0])
        data = [[Paragraph(escape(h), small) for h in head]]
        data += [[Paragraph(escape(_cell(r.get(h))), small) for h in head] for r in rows]
        t = Table(data, repeatRows=1)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke)]))
        story.append(t)

    def mark(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 11)
        canvas.setFillColor(colors.Color(0.75, 0.1, 0.1, alpha=0.35))
        canvas.translate(A4[0] / 2, A4[1] / 2)
        canvas.rotate(40)
        canvas.drawCentredString(0, 0, watermark)
        canvas.restoreState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(12 * mm, 8 * mm, watermark)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=14 * mm, title=title)
    doc.build(story, onFirstPage=mark, onLaterPages=mark)
    return buf.getvalue()
