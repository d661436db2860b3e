"""The admin's survey settings page (/o/<org>/feedback/settings/)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render

from coachhub.tenancy.access import admin_required

from .services import survey
from .survey_forms import SurveySettingsForm


@admin_required
def survey_settings_page(request, org):
    organization = request.organization
    if request.method == "POST":
        form = SurveySettingsForm(request.POST)
        if form.is_valid():
            survey.survey_settings_update(organization, form.cleaned_data)
            messages.success(request, "Survey settings saved.")
            return redirect("feedback:settings", org=org)
    else:
        form = SurveySettingsForm(
            initial={
                **survey.survey_settings(organization),
                "brand_color": organization.brand_color,
            }
        )
    return render(
        request,
        "feedback/survey_settings.html",
        {"form": form},
        status=400 if form.errors else 200,
    )
