"""Service-recovery routes, appended to coaching/urls.py (namespace ``coaching``)."""

from django.urls import path

from . import recovery_views as views

urlpatterns = [
    path("recovery/", views.queue, name="recovery_queue"),
    path("recovery/dashboard/", views.dashboard, name="recovery_dashboard"),
    path("recovery/rule/", views.rule, name="recovery_rule"),
    path("recovery/<uuid:case_id>/", views.case_detail, name="recovery_case"),
    path("recovery/<uuid:case_id>/action/", views.case_action, name="recovery_action"),
    path("digest/", views.digest_preview, name="digest_preview"),
]
