"""A participant's casebook as a PDF in the style of a certified copy: every record of the casebook
(:mod:`.casebook`, in its order) with its values and units, missing-data codes and the notes beside the
values; under each record the audit history of each value (when, who, old → new, reason); the record's SDV
status; then the participant's queries with their threads and the signatures with whether they still cover the
casebook. Each page carries the participant, the casebook's SHA-256 as signed, the time it was made and for
whom, and its page number: a printed copy says what it is a copy of.

Values are shown as the reader's role may see them (a blinded role: never a blinded field, the keyed
commitment in a history), and the PDF is audited (``reports.casebook_pdf``, with its SHA-256).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from xml.sax.saxutils import escape

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from shine.trial.accounts.models import User
from shine.trial.accounts.roles import may_view_casebook
from shine.trial.audit import services as audit
from shine.trial.audit.models import AuditEvent
from shine.trial.audit.selectors import visible_changes
from shine.trial.audit.services import Actor
from shine.trial.enrollment.models import Participant
from shine.trial.enrollment.selectors import participant_for_user
from shine.web.formats import local_datetime

from . import casebook, labels, selectors
from .models import Query

# units of the stored (converted) values; an entered value's unit is its "<input>_unit" field
UNITS = {"pao2_fio2": "mmHg", "platelets": "10^9/L", "bilirubin": "µmol/L", "creatinine": "µmol/L",
         "map_mmhg": "mmHg", "dopamine": "µg/kg/min", "dobutamine": "µg/kg/min", "epinephrine": "µg/kg/min",
         "norepinephrine": "µg/kg/min", "urine_output": "mL/24 h", "weight_kg": "kg", "rate_ml_per_h": "mL/h",
         "infusion_rate_ml_per_h": "mL/h", "planned_volume_ml": "mL", "stm_ng_ml": "ng/mL", "age": "years"}
# what the PDF never prints: bookkeeping and the machine-readable fields shown in words elsewhere in it
SKIP = ("codes", "comments", "cpr_encrypted", "cpr_digest")


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and len(value) >= 25 and value[10] == "T" and value[4] == "-":
        try:  # an audited time (UTC ISO 8601) as people read it: the trial's time zone, the reader's format
            return local_datetime(dt.datetime.fromisoformat(value))
        except ValueError:
            return value
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _label(model, field: str) -> str:
    """A field in words: the daily form's input label, else the model field's name."""
    from shine.trial.records.edit_checks import INPUT_LABELS

    if field in INPUT_LABELS:
        text = str(INPUT_LABELS[field])
    else:
        found = next((f for f in model._meta.concrete_fields if f.attname == field), None)
        text = str(found.verbose_name) if found is not None else field
    return text[:1].upper() + text[1:]


def _code_words() -> dict[str, str]:
    return {"not_done": _("not done"), "unknown": _("unknown"), "not_applicable": _("not applicable")}


def _input_of(field: str, codes: dict) -> str | None:
    return next((i for i in codes if field == i or field.startswith(i + "_")), None)


def _history(user: User, entry: casebook.Entry, shown: set[str]) -> list[list[str]]:
    rows = []
    model = type(entry.instance)
    for event in AuditEvent.objects.filter(object_type=entry.object_type, object_id=entry.object_id).order_by("id"):
        changes = visible_changes(event, user)
        for field in sorted(changes):
            old, new = changes[field]
            if field not in shown or (old in (None, "") and new in (None, "")):
                continue
            rows.append([local_datetime(event.at), event.actor, _label(model, field), _text(old), _text(new),
                         event.reason or (_("created") if event.action == "create" else "")])
    return rows


def _record_rows(entry: casebook.Entry) -> tuple[list[list[str]], set[str]]:
    instance = entry.instance
    snap = audit.snapshot(instance)
    codes = dict(getattr(instance, "codes", None) or {})
    comments = dict(getattr(instance, "comments", None) or {})
    words = _code_words()
    fields = [f for f in casebook.record_fields(instance) if f not in SKIP]
    rows = []
    for field in fields:
        value = snap.get(field)
        unit = UNITS.get(field, "")
        if field.endswith("_entered"):
            unit = str(snap.get(field[: -len("_entered")] + "_unit") or "")
        code = ""
        if value in (None, ""):
            i = _input_of(field, codes)
            code = words.get(codes[i], codes[i]) if i else ""
        note = comments.get(field) or comments.get(_input_of(field, comments) or "", "")
        rows.append([_label(type(instance), field), _text(value), unit if value not in (None, "") else "", code, note])
    return rows, set(fields)


def casebook_pdf(participant: Participant, *, user: User) -> bytes:
    """The PDF (bytes) of the participant's casebook as ``user``'s role may see it."""
    entries = casebook.entries(participant)
    digest = casebook.casebook_hash(entries)
    made = local_datetime(timezone.now())
    sdv = {(r.entry.object_type, r.entry.object_id): r for r in selectors.sdv_rows(participant, entries)}
    status_words = {"verified": _("verified"), "re-verify": _("changed since verified: verify again"),
                    "to verify": _("to verify"), "not required": _("verification not required")}
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    small = body.clone("small", fontSize=7.5, leading=9)
    title = _("Casebook of participant %(number)s") % {"number": participant.number}
    stamp = _("Certified copy made %(time)s for %(user)s · casebook SHA-256 %(hash)s") % {
        "time": made, "user": user.username, "hash": digest}

    def p(text, style=small):
        return Paragraph(escape(str(text)), style)

    def table(head: list[str], rows: list[list[str]], widths=None) -> Table:
        t = Table([[p(h) for h in head]] + [[p(c) for c in r] for r in rows], repeatRows=1, colWidths=widths)
        t.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        return t

    story = [Paragraph(escape(title), styles["Title"]),
             p(_("Site %(site)s · randomised %(time)s") % {
                 "site": participant.site.code, "time": local_datetime(participant.randomised_at) or "—"}, body),
             p(_("This copy shows every record of the casebook with its values, units, missing-data codes and "
                 "notes, the history of each value from the audit trail, the source data verification, the "
                 "queries and the signatures, as they stood when it was made."), body),
             p(stamp), Spacer(1, 4 * mm)]
    for entry in entries:
        story.append(Paragraph(escape(labels.entry_label(entry)), styles["Heading3"]))
        rows, shown = _record_rows(entry)
        story.append(table([_("Field"), _("Value"), _("Unit"), _("Missing-data code"), _("Note")], rows,
                           widths=[42 * mm, 45 * mm, 22 * mm, 30 * mm, 47 * mm]))
        row = sdv.get((entry.object_type, entry.object_id))
        if row is not None:
            line = _("Source data verification: %(status)s") % {"status": status_words.get(row.status, row.status)}
            if row.verification is not None:
                line += " — " + _("%(user)s, %(time)s") % {"user": row.verification.verified_by.username,
                                                            "time": local_datetime(row.verification.verified_at)}
            story.append(p(line, body))
        history = _history(user, entry, shown)
        if history:
            story += [p(_("History of the values"), styles["Heading4"]),
                      table([_("Time"), _("User"), _("Field"), _("Old value"), _("New value"), _("Reason")],
                            history, widths=[26 * mm, 24 * mm, 32 * mm, 30 * mm, 30 * mm, 44 * mm])]
        story.append(Spacer(1, 3 * mm))
    story.append(Paragraph(escape(_("Queries")), styles["Heading2"]))
    queries = list(Query.objects.filter(participant=participant).prefetch_related("messages").order_by("number"))
    if not queries:
        story.append(p(_("No queries."), body))
    for q in queries:
        story.append(p(f"Q-{q.number:05d} · {q.get_state_display()} · {labels.query_target(q)}", styles["Heading4"]))
        story.append(table([_("Time"), _("By"), _("Action"), _("Text")],
                           [[local_datetime(m.at), m.author_name, labels.thread_action(m.action), labels.thread_text(m)]
                            for m in q.messages.all()],
                           widths=[28 * mm, 32 * mm, 22 * mm, 104 * mm]))
    story.append(Paragraph(escape(_("Signatures")), styles["Heading2"]))
    signed = selectors.signatures(participant, entries)
    if not signed:
        story.append(p(_("Not signed."), body))
    else:
        story.append(table(
            [_("Time"), _("Signed by"), _("Meaning"), _("Covers this casebook")],
            [[local_datetime(s.signature.signed_at), f"{s.signature.printed_name} ({s.signature.signer.username})",
              s.signature.get_meaning_display(), _("yes") if s.valid else _("no: changed since signed")]
             for s in signed], widths=[28 * mm, 60 * mm, 30 * mm, 68 * mm]))

    def mark(canvas, doc):
        canvas.saveState()
        canvas.setFont("Helvetica", 6.5)
        canvas.drawString(12 * mm, 8 * mm, f"{participant.number} · {stamp}")
        canvas.drawRightString(A4[0] - 12 * mm, 8 * mm, _("page %(n)s") % {"n": doc.page})
        canvas.restoreState()

    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=14 * mm, title=title, author="SHINE")
    doc.build(story, onFirstPage=mark, onLaterPages=mark)
    return buf.getvalue()


def casebook_pdf_for(user: User, key, *, request_id: str = "") -> tuple[Participant, bytes]:
    """The PDF for a user who may view the participant's casebook (the casebook page's rule), audited."""
    if not may_view_casebook(user):
        raise PermissionDenied(_("your role may not view casebooks"))
    participant = participant_for_user(user, key)
    data = casebook_pdf(participant, user=user)
    with transaction.atomic():
        audit.record(actor=Actor.of(user, request_id), action="export", object_type="reports.casebook_pdf",
                     object_id=participant.number,
                     changes={"sha256": [None, hashlib.sha256(data).hexdigest()]})
    return participant, data


def write_casebook_pdf(out_dir: str | Path, *, user: User, key) -> Path:
    participant, data = casebook_pdf_for(user, key)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"casebook-{participant.number}.pdf"
    path.write_bytes(data)
    return path


def casebook_pdf_view(request, key):
    """GET participants/<key>/casebook.pdf: the PDF as a download (the casebook page's readers)."""
    from django.contrib.auth.views import redirect_to_login
    from django.http import HttpResponse

    from shine.trial.errors import rid

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    participant, data = casebook_pdf_for(request.user, key, request_id=rid(request))
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="casebook-{participant.number}.pdf"'
    return response
