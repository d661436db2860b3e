"""coaching endpoints under /api/v1/."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("alerts/", views.AlertListView.as_view(), name="api-alerts"),
]
