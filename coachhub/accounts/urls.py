"""Organization pages for people, teams, API keys and settings (under /o/<org>/)."""

from django.urls import path

from . import views

urlpatterns = [
    path("teams/", views.team_list, name="team_list"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<uuid:team_id>/", views.team_detail, name="team_detail"),
    path("teams/<uuid:team_id>/edit/", views.team_edit, name="team_edit"),
    path("people/", views.people_list, name="people_list"),
    path("people/invite/", views.invite, name="invite"),
    path("people/<uuid:member_id>/", views.person_detail, name="person_detail"),
    path("people/<uuid:member_id>/role/", views.person_edit, name="person_edit"),
    path("people/<uuid:member_id>/profile/", views.person_profile, name="person_profile"),
    path("people/<uuid:member_id>/deactivate/", views.person_deactivate, name="person_deactivate"),
    path("people/<uuid:member_id>/reactivate/", views.person_reactivate, name="person_reactivate"),
    path(
        "invitations/<uuid:invitation_id>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "invitations/<uuid:invitation_id>/cancel/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    path("api-keys/", views.api_key_list, name="api_key_list"),
    path("api-keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("settings/", views.org_settings, name="org_settings"),
    path("me/", views.my_profile, name="my_profile"),
]
