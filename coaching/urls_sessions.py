"""Routes of formal coaching (1:1 sessions, goals, coverage, effectiveness), appended to
coaching/urls.py."""

from django.urls import path

from . import views_sessions as v

urlpatterns = [
    path("sessions/", v.session_list, name="session_list"),
    path("sessions/new/", v.session_new, name="session_new"),
    path("sessions/export.csv", v.session_export, name="session_export"),
    path("sessions/<uuid:session_id>/", v.session_detail, name="session_detail"),
    path("sessions/<uuid:session_id>/state/", v.session_state, name="session_state"),
    path("sessions/<uuid:session_id>/prep/", v.session_prep, name="session_prep"),
    path(
        "sessions/<uuid:session_id>/self-assessment/",
        v.session_self_assessment,
        name="session_self_assessment",
    ),
    path("sessions/<uuid:session_id>/notes/", v.session_notes, name="session_notes"),
    path(
        "sessions/<uuid:session_id>/private-notes/",
        v.session_private_note,
        name="session_private_note",
    ),
    path("sessions/<uuid:session_id>/actions/", v.session_action_add, name="session_action_add"),
    path(
        "sessions/<uuid:session_id>/actions/<uuid:action_id>/toggle/",
        v.session_action_toggle,
        name="session_action_toggle",
    ),
    path("sessions/<uuid:session_id>/rate/", v.session_rate, name="session_rate"),
    path("goals/", v.goal_list, name="goal_list"),
    path("goals/new/", v.goal_new, name="goal_new"),
    path("goals/<uuid:goal_id>/", v.goal_detail, name="goal_detail"),
    path("coverage/", v.coverage, name="coverage"),
    path("effectiveness/", v.effectiveness, name="effectiveness"),
    path("session-categories/", v.category_list, name="category_list"),
    path("session-categories/<uuid:category_id>/", v.category_edit, name="category_edit"),
    path(
        "session-categories/<uuid:category_id>/toggle/",
        v.category_toggle,
        name="category_toggle",
    ),
    path("saved/reviews/<uuid:review_id>/", v.save_review, name="save_review"),
]
