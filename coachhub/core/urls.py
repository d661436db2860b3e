"""Notifications, under /o/<org>/notifications/."""

from django.urls import path

from . import notification_views as views

urlpatterns = [
    path("", views.notification_list, name="notification_list"),
    path("bell/", views.notification_bell, name="notification_bell"),
    path("read-all/", views.notification_read_all, name="notification_read_all"),
    path("email/", views.notification_email_toggle, name="notification_email_toggle"),
    path("<uuid:notification_id>/read/", views.notification_read, name="notification_read"),
]
