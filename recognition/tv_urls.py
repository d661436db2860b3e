"""Floor-screen links, mounted at /tv/ (outside /o/ and /api/: the token names the screen)."""

from django.urls import path

from . import tv_views

app_name = "tv"
urlpatterns = [path("<str:token>/", tv_views.tv_page, name="page")]
