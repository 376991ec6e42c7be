"""Demo monitoring data, loaded through the services: the SDV plan (version 1, the default rules), some
verified records (one made stale by a later correction), queries in each state, the edit checks' system
queries, an investigator's signature, fields verified one by one (one corrected since) and a signed
monitoring visit."""

from __future__ import annotations

from django.utils import timezone

from shine.trial.accounts.models import User
from shine.trial.enrollment.models import Participant
from shine.trial.records import services as records
from shine.trial.records.models import DailyRecord

from . import casebook, checks, field_sdv, services, visits
from .models import Query, SdvPlan


def load_demo_monitoring(*, nurse: User, investigator: User, monitor: User, data_manager: User,
                         password: str) -> list[str]:
    if SdvPlan.objects.exists():
        return ["monitoring: demo data already loaded"]
    people = list(Participant.objects.filter(site__memberships__user=nurse, randomised_at__isnull=False,
                                             new_data_allowed=True, daily_records__map_mmhg__isnull=False)
                  .distinct().order_by("randomised_at"))[:4]
    if len(people) < 3:
        return ["monitoring: too few participants with daily records for the demo"]
    plan = services.create_plan(user=data_manager, rules=services.DEFAULT_RULES,
                                note="default plan: 100 % of the primary outcome's inputs, samples first 3 + 20 %")
    verified = 0
    for p in people[:2]:
        for e in casebook.entries(p)[:4]:
            services.verify(user=monitor, participant=p, form=e.form, object_id=e.object_id, note="ICU chart")
            verified += 1
    first, second, third = people[:3]
    day = DailyRecord.objects.filter(participant=first, map_mmhg__isnull=False).order_by("study_day").first()
    services.verify(user=monitor, participant=first, form="daily", object_id=day.pk, note="ICU chart")
    verified += 1
    # open, answered with a correction, then closed (the correction makes the verification stale)
    q = services.raise_query(user=monitor, participant=first, form="daily", object_id=day.pk, field="map_mmhg",
                             text="MAP on the ICU chart is 5 mmHg lower than entered: please check.")
    fix = day.map_mmhg - 5
    records.update_daily_record(user=nurse, record=day, values={"map_mmhg": fix}, partial=True,
                                reason=f"{q.label}: lowest MAP misread on the chart")
    q = services.transition(user=nurse, query=q, action="answer", text=f"Corrected to {fix:g} mmHg.", corrected=True)
    services.transition(user=monitor, query=q, action="close", text="Matches the source now.")
    # answered, waiting for the monitor
    day2 = DailyRecord.objects.filter(participant=second).order_by("study_day").first()
    q2 = services.raise_query(user=monitor, participant=second, form="daily", object_id=day2.pk, field="gcs",
                              text="GCS while sedated: was it assessed before sedation?")
    services.transition(user=nurse, query=q2, action="answer", text="Yes: the pre-sedation GCS is entered.")
    # open, a candidate held back, a cancelled one
    services.raise_query(user=data_manager, participant=third, text="Consent form version missing in the ISF copy.")
    services.raise_query(user=monitor, participant=third, text="Is a measured weight available for the dose?",
                         candidate=True)
    c = services.raise_query(user=monitor, participant=second, text="Duplicate of an earlier question.")
    services.transition(user=monitor, query=c, action="cancel", text="Raised twice by mistake.")
    # per field: two fields verified, then one corrected (it shows re-verify, the other stays verified)
    fields = [f for f in ("platelets", "map_mmhg") if getattr(day2, f) is not None]
    if fields:
        field_sdv.verify_fields(user=monitor, participant=second, form="daily", object_id=day2.pk, fields=fields,
                                note="ICU chart and lab report")
        day2.refresh_from_db()
        records.update_daily_record(user=nurse, record=day2, values={fields[0]: getattr(day2, fields[0]) + 1},
                                    partial=True, reason="value copied from the wrong line of the chart")
    visit = visits.record_visit(user=monitor, site_code=second.site.code, visit_date=timezone.localdate(),
                                kind="routine", findings="Investigator site file complete. Source data verified "
                                "for the first participants; one MAP misread on the ICU chart, corrected.",
                                actions="Nurse to re-check the platelet count of day "
                                f"{day2.study_day} against the lab report\nInvestigator to sign the casebooks")
    visits.sign_visit(user=monitor, visit=visit, password=password)
    ran = checks.run()
    services.sign(user=investigator, participant=second, meaning="approval", password=password)
    return [f"monitoring: SDV plan v{plan.version}, {verified} records verified (one to re-verify), "
            f"{Query.objects.filter(origin='manual').count()} queries, {ran['opened']} system queries from the edit "
            f"checks, 1 signed casebook ({second.number}), fields verified one by one (one to re-verify), "
            f"monitoring visit {visit.label} signed; the database-lock checklist and central monitoring read these"]
