"""feedback endpoints under /api/v1/."""

from django.urls import path

from . import views

urlpatterns = [
    path("interactions/", views.InteractionListView.as_view(), name="api-interactions"),
    path("interactions/bulk/", views.InteractionBulkView.as_view(), name="api-interactions-bulk"),
    path(
        "interactions/<uuid:interaction_id>/",
        views.InteractionDetailView.as_view(),
        name="api-interaction-detail",
    ),
    path("agents/", views.AgentListView.as_view(), name="api-agents"),
    path("responses/", views.ResponseListView.as_view(), name="api-responses"),
]
