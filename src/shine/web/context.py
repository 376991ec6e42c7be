"""Navigation links for the signed-in user, from the role's permissions."""

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from shine.trial.accounts.roles import Perm, may_export

# (permission or predicate on the user, url name, label); links whose page does not exist yet are left out
NAV = [
    (Perm.VIEW_SITES, "sites", _("Sites")),
    (Perm.VIEW_PARTICIPANTS, "participants", _("Participants")),
    (Perm.SCREEN, "screening", _("Screening log")),
    (Perm.ENTER_DATA, "records_worklist", _("Worklist")),
    (Perm.REPORT_SAFETY, "safety", _("Report safety")),
    (Perm.VIEW_SAFETY, "safety", _("Safety")),
    (lambda user: may_export(user, blinded=True), "records_export", _("Export")),
    (Perm.VIEW_ALLOCATION, "allocation", _("Allocation")),
    (Perm.VIEW_UNBLINDINGS, "unblindings", _("Unblindings")),
    (Perm.VIEW_REPORTS, "reports_progress", _("Progress")),
    (Perm.VIEW_REPORTS, "reports_interim", _("Interim")),
    (Perm.VIEW_REPORTS, "reports_recommendations", _("DSMB recommendations")),
    (Perm.RAISE_QUERY, "monitoring_queries", _("Queries")),
    (Perm.ENTER_DATA, "monitoring_queries", _("Queries")),
    (Perm.VERIFY_SOURCE, "monitoring_sdv", _("Source verification")),
    (Perm.VIEW_AUDIT, "audit_trail", _("Audit trail")),
]


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"nav": []}
    links = []
    for perm, name, label in NAV:
        if perm(user) if callable(perm) else user.can(perm):
            try:
                links.append({"url": reverse(name), "label": label})
            except NoReverseMatch:
                continue
    return {"nav": links, "role": user.role_def}
