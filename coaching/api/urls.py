"""coaching endpoints under /api/v1/."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("alerts/", views.AlertListView.as_view(), name="api-alerts"),
]

from . import sessions as _sessions  # noqa: E402

urlpatterns += [
    path("coaching-notes/", _sessions.CoachingNoteListView.as_view(), name="api-coaching-notes"),
    path("sessions/", _sessions.SessionListView.as_view(), name="api-sessions"),
    path("goals/", _sessions.GoalListView.as_view(), name="api-goals"),
]
