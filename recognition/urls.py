"""Pages of recognition under /o/<org>/recognition/."""

from django.urls import path

from . import views

app_name = "recognition"
urlpatterns = [
    path("", views.wall, name="wall"),
    path("kudos/new/", views.kudos_new, name="kudos_new"),
    path("me/", views.mine, name="mine"),
    path("agents/<uuid:agent_id>/", views.agent_page, name="agent"),
    path("rewards/", views.reward_list, name="rewards"),
    path("rewards/<uuid:reward_id>/", views.reward_detail, name="reward_detail"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path("catalogue/<uuid:item_id>/toggle/", views.catalogue_toggle, name="catalogue_toggle"),
    path("leaderboards/", views.leaderboard_page, name="leaderboard"),
    path("tv/", views.tv_links, name="tv_links"),
    path("tv/<uuid:link_id>/revoke/", views.tv_link_revoke, name="tv_link_revoke"),
    path("settings/", views.recognition_settings, name="settings"),
    path("behaviours/", views.behaviour_list, name="behaviours"),
    path("behaviours/<uuid:kudos_behaviour_id>/", views.behaviour_edit, name="behaviour_edit"),
    path(
        "behaviours/<uuid:kudos_behaviour_id>/active/",
        views.behaviour_active,
        name="behaviour_active",
    ),
]
