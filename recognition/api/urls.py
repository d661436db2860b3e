"""recognition endpoints under /api/v1/."""

from django.urls import path

from . import views

urlpatterns = [
    path("kudos/", views.KudosListView.as_view(), name="api-kudos"),
    path("rewards/", views.RewardListView.as_view(), name="api-rewards"),
    path("leaderboards/", views.LeaderboardView.as_view(), name="api-leaderboards"),
]
