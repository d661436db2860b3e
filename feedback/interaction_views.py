"""An interaction and its survey: delivery status (sent, bounced, ...), progress and the
customer's answers, for everyone who may see the interaction."""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors_surveys as sel


@require_GET
def interaction_detail(request, org, interaction_id):
    interaction = sel.get_interaction_for(request.member, interaction_id)
    fr = interaction.initial_requests[0] if interaction.initial_requests else None
    answers = [a for a in interaction.answers if a.confirmed]
    return render(
        request,
        "feedback/interaction_detail.html",
        {"interaction": interaction, "survey": fr, "answers": answers},
    )


@require_GET
def survey_list(request, org):
    return render(
        request,
        "feedback/survey_list.html",
        {"interactions": sel.surveys_recent_for(request.member)},
    )
