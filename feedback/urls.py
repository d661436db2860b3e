"""Pages of feedback under /o/<org>/feedback/."""

from django.urls import path

from . import insights_views, interaction_views, settings_views, stream_views, views

app_name = "feedback"
urlpatterns: list = [
    path("integrations/zendesk/", views.zendesk_endpoints, name="zendesk_endpoints"),
    path(
        "integrations/zendesk/<uuid:endpoint_id>/", views.zendesk_endpoint, name="zendesk_endpoint"
    ),
    path(
        "integrations/zendesk/<uuid:endpoint_id>/rotate/",
        views.zendesk_rotate,
        name="zendesk_rotate",
    ),
    path(
        "integrations/zendesk/<uuid:endpoint_id>/retire-previous/",
        views.zendesk_retire_previous,
        name="zendesk_retire_previous",
    ),
    path(
        "integrations/zendesk/<uuid:endpoint_id>/active/",
        views.zendesk_toggle,
        name="zendesk_toggle",
    ),
    path(
        "integrations/zendesk/<uuid:endpoint_id>/replay-parked/",
        views.zendesk_replay_parked,
        name="zendesk_replay_parked",
    ),
    path(
        "integrations/zendesk/<uuid:endpoint_id>/deliveries/<uuid:delivery_id>/replay/",
        views.zendesk_replay,
        name="zendesk_replay",
    ),
    path("import/", views.import_list, name="import_list"),
    path("import/<uuid:import_id>/", views.import_detail, name="import_detail"),
    path("import/<uuid:import_id>/progress/", views.import_progress, name="import_progress"),
    path("import/<uuid:import_id>/confirm/", views.import_confirm, name="import_confirm"),
    path("import/<uuid:import_id>/ring/", views.import_ring, name="import_ring"),
    path("activity/", views.activity_page, name="activity"),
    path("settings/", settings_views.survey_settings_page, name="settings"),
    path("surveys/", interaction_views.survey_list, name="surveys"),
    # Live streams and exclusion from metrics (feedback/stream_views.py).
    path("mine/", stream_views.my_stream, name="my_stream"),
    path("stream/", stream_views.team_stream, name="team_stream"),
    path("responses/<uuid:response_id>/exclude/", stream_views.exclude, name="response_exclude"),
    path("responses/<uuid:response_id>/include/", stream_views.include, name="response_include"),
    # KPI dashboards (feedback/insights_views.py).
    path("insights/", insights_views.overview, name="insights"),
    path("insights/teams/<uuid:team_id>/", insights_views.team, name="insights_team"),
    path("insights/agents/<uuid:agent_id>/", insights_views.agent, name="insights_agent"),
    path(
        "interactions/<uuid:interaction_id>/",
        interaction_views.interaction_detail,
        name="interaction",
    ),
]
