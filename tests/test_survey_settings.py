"""The admin's survey settings page: works, validates naming the field, other org 404, other
roles 403, and the saved settings drive the survey."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from feedback.services import survey

URL = "/o/{slug}/feedback/settings/"

VALID = {
    "send_delay_minutes": "15",
    "suppression_days": "3",
    "finish_window_minutes": "30",
    "survey_expiry_days": "7",
    "survey_questions": ["comment", "nps", "qualities"],
    "qualities_positive": "Warm\nPatient\n",
    "qualities_improvement": "Speed\nClarity",
    "reward_threshold": "4",
    "email_subject": "A minute for {agent}?",
    "email_intro": "Tell us about {agent}.",
    "brand_color": "#0a7c4a",
    "test_address": "qa@acme.test",
}


def test_admin_sees_the_defaults(cast, client_for):
    page = client_for(cast.alice).get(URL.format(slug="acme"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Survey settings" in html
    assert 'name="finish_window_minutes" value="60"' in html
    assert "Knowledgeable" in html  # default positive qualities


def test_admin_saves_settings_and_they_drive_the_survey(cast, client_for):
    saved = client_for(cast.alice).post(URL.format(slug="acme"), VALID)
    assert saved.status_code == 302
    cast.org_a.refresh_from_db()
    s = survey.survey_settings(cast.org_a)
    assert s["send_delay_minutes"] == 15 and s["suppression_days"] == 3
    assert s["finish_window_minutes"] == 30 and s["survey_expiry_days"] == 7
    assert s["survey_questions"] == ["comment", "nps", "qualities"]
    assert s["qualities_positive"] == ["Warm", "Patient"]
    assert s["qualities_improvement"] == ["Speed", "Clarity"]
    assert s["reward_threshold"] == 4 and s["test_address"] == "qa@acme.test"
    assert s["email_subject"] == "A minute for {agent}?"
    assert cast.org_a.brand_color == "#0a7c4a"
    assert survey.quality_choices(cast.org_a, 5) == ["Warm", "Patient"]
    assert not survey.reward_asked(cast.org_a, 5)  # reward question switched off


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("send_delay_minutes", "-1"),
        ("suppression_days", "abc"),
        ("finish_window_minutes", "0"),
        ("survey_expiry_days", "365"),
        ("survey_questions", ["comment", "shoe size"]),
        ("qualities_positive", ""),
        ("qualities_positive", "\n".join(f"Q{i}" for i in range(13))),
        ("qualities_improvement", "x" * 61),
        ("qualities_improvement", "Speed\nspeed"),
        ("reward_threshold", "6"),
        ("email_subject", "x" * 201),
        ("brand_color", "red; background:url(x)"),
        ("test_address", "not-an-address"),
    ],
)
def test_bad_input_names_the_field_and_saves_nothing(cast, client_for, field, value):
    before = dict(cast.org_a.settings)
    page = client_for(cast.alice).post(URL.format(slug="acme"), {**VALID, field: value})
    assert page.status_code == 400
    assert field in page.context["form"].errors
    message = page.context["form"].errors[field][0]
    assert escape(message) in page.content.decode()
    cast.org_a.refresh_from_db()
    assert cast.org_a.settings == before


@pytest.mark.parametrize("who", ["sam", "ann"])
def test_supervisors_and_agents_get_403(cast, client_for, who):
    client = client_for(getattr(cast, who))
    assert client.get(URL.format(slug="acme")).status_code == 403
    assert client.post(URL.format(slug="acme"), VALID).status_code == 403
    cast.org_a.refresh_from_db()
    assert "send_delay_minutes" not in cast.org_a.settings


def test_other_organizations_page_is_404(cast, client_for):
    client = client_for(cast.alice)
    assert client.get(URL.format(slug="globex")).status_code == 404
    assert client.post(URL.format(slug="globex"), VALID).status_code == 404
    cast.org_b.refresh_from_db()
    assert "send_delay_minutes" not in cast.org_b.settings


def test_saving_keeps_settings_of_other_features(cast, client_for):
    from coachhub.accounts.services import organization_update

    organization_update(cast.org_a, settings={"custom_channels": ["whatsapp"], "x_other": 1})
    client_for(cast.alice).post(URL.format(slug="acme"), VALID)
    cast.org_a.refresh_from_db()
    assert cast.org_a.settings["custom_channels"] == ["whatsapp"]
    assert cast.org_a.settings["x_other"] == 1
