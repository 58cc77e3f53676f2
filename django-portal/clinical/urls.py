"""Wiring: /api/studies, /api/patients and /api/conflicts routes."""

from django.urls import path, re_path

from clinical import conflict_views, review_views, views

UID = r"(?P<study_uid>[0-9][0-9.]{0,63})"
PATIENT = r"(?P<patient_id>[^/]{1,64})"
ORTHANC_ID = r"(?P<orthanc_study_id>[0-9a-f]{8}(?:-[0-9a-f]{8}){4})"

urlpatterns = [
    path("studies", views.StudyList.as_view(), name="studies"),
    re_path(rf"^studies/{UID}$", views.StudyDetail.as_view(), name="study-detail"),
    re_path(rf"^studies/{UID}/report$", views.StudyReport.as_view(), name="study-report"),
    re_path(rf"^studies/{UID}/jobs$", views.StudyJobs.as_view(), name="study-jobs"),
    re_path(rf"^studies/{UID}/reanalyze$", views.Reanalyze.as_view(), name="study-reanalyze"),
    re_path(rf"^studies/{UID}/review$", review_views.StudyReview.as_view(), name="study-review"),
    path("patients", views.PatientList.as_view(), name="patients"),
    re_path(
        rf"^patients/{PATIENT}/tumour-volumes$",
        review_views.PatientTumourVolumes.as_view(),
        name="patient-tumour-volumes",
    ),
    path("conflicts", conflict_views.ConflictList.as_view(), name="conflicts"),
    re_path(
        rf"^conflicts/{ORTHANC_ID}/review$",
        conflict_views.ConflictReview.as_view(),
        name="conflict-review",
    ),
]
