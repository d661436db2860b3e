"""Public inbound webhook URLs, mounted at /hooks/ (outside /o/ and /api/)."""

from django.urls import path

from . import hooks

app_name = "hooks"
urlpatterns = [
    path("zendesk/<str:endpoint_id>/", hooks.zendesk_hook, name="zendesk"),
]
