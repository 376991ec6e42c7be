"""Roles and what each may do: the one permission matrix of the platform.

A role is blinded unless it is listed as unblinded here; cross-site roles see every site's records, the
others only the sites they are members of.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Perm(StrEnum):
    VIEW_SITES = "view_sites"
    VIEW_PARTICIPANTS = "view_participants"
    SCREEN = "screen"
    CONSENT = "consent"
    RANDOMISE = "randomise"
    ENTER_DATA = "enter_data"
    REPORT_SAFETY = "report_safety"
    VIEW_SAFETY = "view_safety"                # safety cases of every site (read only)
    ASSESS_SAFETY = "assess_safety"            # sponsor: expectedness, sponsor causality, reference safety information
    UNBLIND_SUSAR = "unblind_susar"            # one participant's arm, opened by a SUSAR assessment only
    EMERGENCY_UNBLIND = "emergency_unblind"
    VIEW_ALLOCATION = "view_allocation"        # arm of every participant and pack (unblinded)
    MANAGE_PACKS = "manage_packs"
    MANAGE_RANDOMISATION = "manage_randomisation"
    RAISE_QUERY = "raise_query"
    VERIFY_SOURCE = "verify_source"
    SIGN_CASEBOOK = "sign_casebook"            # investigator's electronic signature of a participant's casebook
    MANAGE_DATA = "manage_data"                # deviations, locks, freezes, closing queries
    UNLOCK_DATABASE = "unlock_database"        # lift the database lock (the sponsor's decision), with a reason
    VIEW_REPORTS = "view_reports"
    EXPORT_BLINDED = "export_blinded"
    VIEW_DSMB = "view_dsmb"                    # interim report by arm, list of unblindings
    VIEW_UNBLINDINGS = "view_unblindings"      # list of emergency unblindings (who, when, why; never the arm)
    VIEW_AUDIT = "view_audit"
    MANAGE_USERS = "manage_users"


# what each permission is called on the pages, as what the role may do ("your role may not …"); the code stays
# what is stored and answered by the API
PERM_LABELS: dict[Perm, str] = {
    Perm.VIEW_SITES: _("view sites"),
    Perm.VIEW_PARTICIPANTS: _("view participants"),
    Perm.SCREEN: _("screen patients"),
    Perm.CONSENT: _("record consent"),
    Perm.RANDOMISE: _("randomise"),
    Perm.ENTER_DATA: _("enter data"),
    Perm.REPORT_SAFETY: _("report safety events"),
    Perm.VIEW_SAFETY: _("view safety cases"),
    Perm.ASSESS_SAFETY: _("assess safety cases"),
    Perm.UNBLIND_SUSAR: _("unblind a SUSAR"),
    Perm.EMERGENCY_UNBLIND: _("unblind in an emergency"),
    Perm.VIEW_ALLOCATION: _("view allocation"),
    Perm.MANAGE_PACKS: _("manage packs"),
    Perm.MANAGE_RANDOMISATION: _("manage randomisation"),
    Perm.RAISE_QUERY: _("raise query"),
    Perm.VERIFY_SOURCE: _("verify source"),
    Perm.SIGN_CASEBOOK: _("sign casebooks"),
    Perm.MANAGE_DATA: _("manage data"),
    Perm.UNLOCK_DATABASE: _("unlock the database"),
    Perm.VIEW_REPORTS: _("view reports"),
    Perm.EXPORT_BLINDED: _("make blinded exports"),
    Perm.VIEW_DSMB: _("view DSMB reports"),
    Perm.VIEW_UNBLINDINGS: _("view unblindings"),
    Perm.VIEW_AUDIT: _("view the audit trail"),
    Perm.MANAGE_USERS: _("manage users"),
}


@dataclass(frozen=True)
class Role:
    code: str
    label: str  # shown to people (a lazy translation); the code is what is stored and answered by the API
    blinded: bool
    cross_site: bool
    perms: frozenset[Perm]

    @property
    def second_factor(self) -> bool:
        """Whether the role must log in with a code from an authenticator app besides the password."""
        return self.code in SECOND_FACTOR_ROLES

    def can(self, perm: Perm) -> bool:
        return perm in self.perms


P = Perm
_SITE_WORK = {P.VIEW_SITES, P.VIEW_PARTICIPANTS, P.SCREEN, P.CONSENT, P.RANDOMISE, P.ENTER_DATA,
              P.REPORT_SAFETY}

ROLES: dict[str, Role] = {r.code: r for r in (
    Role("investigator", _("Investigator"), True, False,
         frozenset(_SITE_WORK | {P.EMERGENCY_UNBLIND, P.SIGN_CASEBOOK})),
    Role("nurse", _("Research nurse"), True, False, frozenset(_SITE_WORK)),
    Role("pharmacist", _("Pharmacist (unblinded)"), False, True,
         frozenset({P.VIEW_SITES, P.VIEW_ALLOCATION, P.MANAGE_PACKS, P.MANAGE_RANDOMISATION})),
    # the trial manager acts for the sponsor (investigator-initiated trial): sees the list of unblindings
    Role("trial_manager", _("Trial manager"), True, True,
         frozenset({P.VIEW_SITES, P.VIEW_PARTICIPANTS, P.MANAGE_DATA, P.VIEW_REPORTS, P.RAISE_QUERY,
                    P.VIEW_UNBLINDINGS, P.VIEW_SAFETY, P.UNLOCK_DATABASE})),
    Role("data_manager", _("Data manager"), True, True,
         frozenset({P.VIEW_SITES, P.VIEW_PARTICIPANTS, P.MANAGE_DATA, P.VIEW_REPORTS, P.RAISE_QUERY,
                    P.EXPORT_BLINDED})),
    Role("monitor", _("Monitor (GCP unit)"), True, True,
         frozenset({P.VIEW_SITES, P.VIEW_PARTICIPANTS, P.RAISE_QUERY, P.VERIFY_SOURCE, P.VIEW_AUDIT,
                    P.VIEW_SAFETY})),
    # the sponsor's pharmacovigilance: blinded, sees the arm of a participant only through a SUSAR assessment
    Role("pharmacovigilance", _("Pharmacovigilance (sponsor)"), True, True,
         frozenset({P.VIEW_SITES, P.VIEW_SAFETY, P.ASSESS_SAFETY, P.UNBLIND_SUSAR})),
    Role("statistician", _("Statistician (blinded)"), True, True,
         frozenset({P.VIEW_SITES, P.VIEW_REPORTS, P.EXPORT_BLINDED})),
    Role("dsmb_statistician", _("DSMB statistician (unblinded)"), False, True,
         frozenset({P.VIEW_SITES, P.VIEW_REPORTS, P.VIEW_DSMB, P.VIEW_ALLOCATION, P.VIEW_UNBLINDINGS})),
    Role("auditor", _("Auditor / inspector"), True, True, frozenset({P.VIEW_SITES, P.VIEW_AUDIT})),
    Role("admin", _("Administrator"), True, True, frozenset({P.VIEW_SITES, P.MANAGE_USERS, P.VIEW_AUDIT})),
)}

# roles that log in with password and a TOTP code: every unblinded role, the admin, and the roles that see or
# change every site's data; the others may enrol an authenticator too (then the code is asked of them as well)
SECOND_FACTOR_ROLES = frozenset({
    *(r.code for r in ROLES.values() if not r.blinded),
    "admin", "pharmacovigilance", "data_manager", "monitor", "trial_manager",
})

ROLE_CHOICES = [(r.code, r.label) for r in ROLES.values()]


def role(code: str) -> Role:
    try:
        return ROLES[code]
    except KeyError:
        from django.utils.translation import gettext

        raise ValueError(gettext("unknown role '%(role)s'; roles: %(roles)s")
                         % {"role": code, "roles": ", ".join(ROLES)}) from None


# ---------------------------------------------------------------- named rules that combine permissions
# ``who`` is anything with ``can(perm)`` (a user or a role). Pages, API, services and the navigation ask these,
# so a rule that takes more than one permission is written once.

def may_export(who, *, blinded: bool) -> bool:
    """The analysis export and the standard formats: arms as A/B for EXPORT_BLINDED or VIEW_ALLOCATION;
    unblinded (the arms) only for VIEW_ALLOCATION."""
    return who.can(P.VIEW_ALLOCATION) or (blinded and who.can(P.EXPORT_BLINDED))


def may_view_casebook(who) -> bool:
    """A participant's casebook (page and certified-copy PDF): investigators, data managers, monitors and the
    roles that raise queries."""
    return any(who.can(p) for p in (P.SIGN_CASEBOOK, P.MANAGE_DATA, P.VERIFY_SOURCE, P.RAISE_QUERY))


def may_review(who) -> bool:
    """Clear the review flag of a value saved with a soft-limit warning: data management and monitoring."""
    return who.can(P.MANAGE_DATA) or who.can(P.RAISE_QUERY)
