"""qa endpoints under /api/v1/."""

from django.urls import path

from . import views

urlpatterns = [
    path("scorecards/", views.ScorecardListView.as_view(), name="api-scorecards"),
    path(
        "scorecards/<uuid:scorecard_id>/",
        views.ScorecardDetailView.as_view(),
        name="api-scorecard-detail",
    ),
    path("reviews/", views.ReviewListView.as_view(), name="api-reviews"),
    path("reviews/<uuid:review_id>/", views.ReviewDetailView.as_view(), name="api-review-detail"),
]
