"""Navigation links for the signed-in user, from the role's permissions."""

from django.urls import NoReverseMatch, reverse

from shine.trial.accounts.roles import Perm

# (permission, url name, label); links whose page does not exist yet are left out
NAV = [
    (Perm.VIEW_SITES, "sites", "Sites"),
    (Perm.VIEW_PARTICIPANTS, "participants", "Participants"),
    (Perm.SCREEN, "screening", "Screening log"),
    (Perm.ENTER_DATA, "records_worklist", "Worklist"),
    (Perm.REPORT_SAFETY, "safety", "Report safety"),
    (Perm.VIEW_SAFETY, "safety", "Safety"),
    (Perm.EXPORT_BLINDED, "records_export", "Export"),
    (Perm.VIEW_ALLOCATION, "allocation", "Allocation"),
    (Perm.VIEW_UNBLINDINGS, "unblindings", "Unblindings"),
    (Perm.VIEW_REPORTS, "reports_progress", "Progress"),
    (Perm.VIEW_REPORTS, "reports_interim", "Interim"),
    (Perm.VIEW_REPORTS, "reports_recommendations", "DSMB recommendations"),
    (Perm.RAISE_QUERY, "monitoring_queries", "Queries"),
    (Perm.ENTER_DATA, "monitoring_queries", "Queries"),
    (Perm.VERIFY_SOURCE, "monitoring_sdv", "Source verification"),
    (Perm.VIEW_AUDIT, "audit_trail", "Audit trail"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated:
        return {"nav": []}
    links = []
    for perm, name, label in NAV:
        if user.can(perm):
            try:
                links.append({"url": reverse(name), "label": label})
            except NoReverseMatch:
                continue
    return {"nav": links, "role": user.role_def}
