"""Customer survey links, mounted at /s/ (outside /o/ and /api/: the token names the survey)."""

from django.urls import path

from . import survey_views

app_name = "survey"
urlpatterns = [
    path("<str:token>/", survey_views.survey_page, name="page"),
    path("<str:token>/unsubscribe/", survey_views.survey_unsubscribe, name="unsubscribe"),
]
