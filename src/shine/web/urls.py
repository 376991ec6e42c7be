from django.urls import include, path

from shine.api.api import api
from shine.trial.accounts import views as accounts
from shine.trial.allocation import views as allocation
from shine.trial.audit import views as audit
from shine.trial.enrollment import views as enrollment
from shine.trial.monitoring import casebook_pdf
from shine.trial.monitoring import data_management_views as monitoring_dm
from shine.trial.monitoring import deviation_views as deviations
from shine.trial.monitoring import views as monitoring
from shine.trial.records import views as records
from shine.trial.reports import export_job_views as export_jobs
from shine.trial.reports import export_views as exports
from shine.trial.reports import views as reports
from shine.trial.safety import views as safety

urlpatterns = [
    path("", accounts.home, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("login/code/", accounts.login_code, name="login_code"),
    path("login/second-factor/", accounts.login_enrol, name="login_enrol"),
    path("logout/", accounts.logout_view, name="logout"),
    path("account/password/", accounts.password_change, name="password_change"),
    path("sites/", accounts.site_list, name="sites"),
    path("sites/<str:code>/", accounts.site_detail, name="site"),
    path("audit/", audit.trail, name="audit_trail"),
    path("screening/", enrollment.screening_log, name="screening"),
    path("screening/new/", enrollment.screening_new, name="screening_new"),
    path("screening/<int:pk>/", enrollment.screening_detail, name="screening_detail"),
    path("screening/<int:pk>/edit/", enrollment.screening_edit, name="screening_edit"),
    path("screening/<int:pk>/not-randomised/", enrollment.screening_not_randomised, name="screening_not_randomised"),
    path("screening/<int:pk>/enrol/", enrollment.screening_enrol, name="screening_enrol"),
    path("participants/", enrollment.participant_list, name="participants"),
    path("participants/worklist/", enrollment.consent_worklist, name="consent_worklist"),
    path("participants/<str:key>/", enrollment.participant_detail, name="participant"),
    path("participants/<str:key>/consent/", enrollment.participant_consent, name="participant_consent"),
    path("participants/<str:key>/randomise/", enrollment.participant_randomise, name="participant_randomise"),
    path("participants/<str:key>/unblind/", allocation.unblind, name="participant_unblind"),
    path("allocation/", allocation.allocation_home, name="allocation"),
    path("allocation/lists/new/", allocation.list_new, name="allocation_list_new"),
    path("allocation/lists/import/", allocation.list_import, name="allocation_list_import"),
    path("allocation/lists/<int:pk>/", allocation.list_detail, name="allocation_list"),
    path("allocation/lists/<int:pk>/manifest.csv", allocation.list_manifest, name="allocation_list_manifest"),
    path("allocation/packs/", allocation.packs, name="allocation_packs"),
    path("unblindings/", allocation.unblindings, name="unblindings"),
    path("participants/<str:key>/records/", records.participant_records, name="participant_records"),
    path("participants/<str:key>/baseline/", records.baseline_form, name="records_baseline"),
    path("participants/<str:key>/daily/new/", records.daily_form, name="records_daily_new"),
    path("participants/<str:key>/daily/<int:day>/", records.daily_form, name="records_daily"),
    path("participants/<str:key>/infusion/", records.infusion, name="records_infusion"),
    path("participants/<str:key>/samples/new/", records.sample_form, name="records_sample_new"),
    path("participants/<str:key>/samples/labels.pdf", records.sample_labels, name="records_sample_labels"),
    path("participants/<str:key>/samples/<int:day>/", records.sample_form, name="records_sample"),
    path("participants/<str:key>/icu/", records.icu_stay, name="records_icu"),
    path("participants/<str:key>/death/", records.death_form, name="records_death"),
    path("participants/<str:key>/follow-up/<int:day>/", records.followup_form, name="records_followup"),
    path("participants/<str:key>/deviations/", deviations.deviation_list, name="records_deviations"),
    path("participants/<str:key>/review/<str:form_name>/<int:pk>/", deviations.review, name="records_review"),
    path("worklist/", records.worklist, name="records_worklist"),
    path("exports/", exports.export_page, name="records_export"),
    path("exports/analysis-dataset.zip", exports.export_download, name="records_export_download"),
    path("exports/standard/", export_jobs.exports_page, name="reports_exports"),
    path("exports/standard/<int:pk>/", export_jobs.export_job, name="reports_export_job"),
    path("exports/standard/<int:pk>/download/", export_jobs.export_job_download, name="reports_export_job_download"),
    path("reports/progress/", reports.progress, name="reports_progress"),
    path("reports/interim/", reports.interim_page, name="reports_interim"),
    path("reports/interim/freeze/", reports.take_freeze, name="reports_freeze"),
    path("reports/interim/freeze/<int:pk>/run/", reports.run_interim, name="reports_run"),
    *reports.file_paths("reports/interim/<int:pk>/"),
    path("reports/recommendations/", reports.recommendations, name="reports_recommendations"),
    path("reports/recommendations/<int:pk>/letter.txt", reports.sponsor_letter, name="reports_letter"),
    path("safety/", safety.safety_home, name="safety"),
    path("safety/new/", safety.safety_new, name="safety_new"),
    path("safety/rsi/", safety.safety_rsi, name="safety_rsi"),
    path("safety/cases/<str:case>/", safety.safety_case, name="safety_case"),
    path("safety/cases/<str:case>/follow-up/", safety.safety_follow_up, name="safety_follow_up"),
    path("safety/cases/<str:case>/assess/", safety.safety_assess, name="safety_assess"),
    path("safety/cases/<str:case>/submission/", safety.safety_submission, name="safety_submission"),
    path("safety/cases/<str:case>/case.json", safety.safety_case_json, name="safety_case_json"),
    path("safety/cases/<str:case>/case.pdf", safety.safety_case_pdf, name="safety_case_pdf"),
    path("safety/cases/<str:case>/case.xml", safety.safety_case_xml, name="safety_case_xml"),
    path("safety/annual/", safety.safety_annual, name="safety_annual"),
    path("monitoring/queries/", monitoring.query_list, name="monitoring_queries"),
    path("monitoring/queries/<int:pk>/", monitoring.query_detail, name="monitoring_query"),
    path("monitoring/sdv/", monitoring.sdv_worklist, name="monitoring_sdv"),
    path("monitoring/sdv/plan/", monitoring.sdv_plan, name="monitoring_sdv_plan"),
    path("participants/<str:key>/queries/", monitoring.participant_queries, name="monitoring_participant_queries"),
    path("participants/<str:key>/sdv/", monitoring.participant_sdv, name="monitoring_participant_sdv"),
    path("participants/<str:key>/casebook/", monitoring.participant_casebook, name="monitoring_casebook"),
    path("participants/<str:key>/casebook.pdf", casebook_pdf.casebook_pdf_view, name="monitoring_casebook_pdf"),
    path("participants/<str:key>/sdv/<str:form>/<str:object_id>/", monitoring_dm.record_fields,
         name="monitoring_record_fields"),
    path("monitoring/database-lock/", monitoring_dm.database_lock_page, name="monitoring_database_lock"),
    path("monitoring/central/", monitoring_dm.central_monitoring_page, name="monitoring_central"),
    path("monitoring/visits/", monitoring_dm.visit_list, name="monitoring_visits"),
    path("monitoring/visits/<int:number>/", monitoring_dm.visit_detail, name="monitoring_visit"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the login page's language switch
]

handler400 = "shine.web.errors.bad_request"
handler403 = "shine.web.errors.forbidden"
handler404 = "shine.web.errors.not_found"
handler500 = "shine.web.errors.server_error"
