"""Pages of coaching under /o/<org>/coaching/."""

from django.urls import path

from . import views

app_name = "coaching"
urlpatterns: list = [
    path("alerts/", views.alert_list, name="alert_list"),
    path("alerts/<uuid:alert_id>/", views.alert_detail, name="alert_detail"),
    path("alerts/<uuid:alert_id>/acknowledge/", views.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", views.alert_resolve, name="alert_resolve"),
    path("alerts/<uuid:alert_id>/reopen/", views.alert_reopen, name="alert_reopen"),
    path("alerts/<uuid:alert_id>/recovery/", views.alert_recovery, name="alert_recovery"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/<uuid:rule_id>/", views.rule_edit, name="rule_edit"),
    path("rules/<uuid:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/webhook/rotate/", views.webhook_rotate, name="webhook_rotate"),
    path("integrations/webhook/test/", views.webhook_test, name="webhook_test"),
    path(
        "integrations/deliveries/<uuid:channel_delivery_id>/retry/",
        views.delivery_retry,
        name="delivery_retry",
    ),
    path("notes/", views.note_list, name="note_list"),
    path("notes/new/", views.note_new, name="note_new"),
    path("notes/<uuid:note_id>/", views.note_detail, name="note_detail"),
    path("notes/<uuid:note_id>/acknowledge/", views.note_acknowledge, name="note_acknowledge"),
    path("notes/<uuid:note_id>/save/", views.save_note, name="save_note"),
    path("follow-ups/<uuid:follow_up_id>/done/", views.follow_up_done, name="follow_up_done"),
    path("behaviours/", views.behaviour_list, name="behaviour_list"),
    path("behaviours/<uuid:behaviour_id>/toggle/", views.behaviour_toggle, name="behaviour_toggle"),
    path("saved/", views.saved_list, name="saved_list"),
    path("saved/responses/<uuid:response_id>/", views.save_response, name="save_response"),
]

# Service recovery and digests (coaching/recovery_urls.py).
from .recovery_urls import urlpatterns as _recovery_urlpatterns  # noqa: E402

urlpatterns += _recovery_urlpatterns

from .urls_sessions import urlpatterns as _sessions  # noqa: E402

urlpatterns += _sessions
