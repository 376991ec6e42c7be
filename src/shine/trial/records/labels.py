"""Printable sample labels (PDF, reportlab): one label per biobank day with the participant, the study day,
the sample id as text and as a Code 128 barcode. No arm, no drug name. The words are in the language of the
person printing them."""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from reportlab.graphics.barcode import code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from shine import protocol as protocol_mod

LABEL_W, LABEL_H = 70 * mm, 36 * mm


def labels_pdf(participant, labels: list[tuple[int, str]]) -> bytes:
    """``labels``: (study day, sample id). Three columns of labels on A4."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, pageCompression=0)
    trial = protocol_mod.load().name
    c.setTitle(_("%(trial)s sample labels %(participant)s") % {"trial": trial, "participant": participant.number})
    width, height = A4
    cols = int((width - 10 * mm) // LABEL_W)
    for i, (day, sample_id) in enumerate(labels):
        col, row = i % cols, i // cols
        x = 5 * mm + col * LABEL_W
        y = height - 10 * mm - (row + 1) * LABEL_H
        c.rect(x + 1 * mm, y + 1 * mm, LABEL_W - 2 * mm, LABEL_H - 2 * mm)
        c.setFont("Helvetica-Bold", 11)
        c.drawString(x + 4 * mm, y + LABEL_H - 8 * mm, f"{trial} {participant.number}")
        c.setFont("Helvetica", 9)
        c.drawString(x + 4 * mm, y + LABEL_H - 13 * mm, _("Study day %(day)s  ·  biobank") % {"day": day})
        c.drawString(x + 4 * mm, y + LABEL_H - 17.5 * mm, _("Sample %(sample)s") % {"sample": sample_id})
        c.drawString(x + 4 * mm, y + 4 * mm, _("Drawn ____:____   Frozen ____:____"))
        code128.Code128(sample_id, barHeight=7 * mm, barWidth=0.8).drawOn(c, x + 2 * mm, y + 8.5 * mm)
    c.showPage()
    c.save()
    return buf.getvalue()
