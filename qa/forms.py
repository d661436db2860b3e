"""Forms of the QA pages. Validation that is a business rule lives in the services
(``criterion_clean``); forms translate it into per-field errors."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from coachhub.tenancy.models import Team
from feedback.services.ingest import allowed_channels

from . import scoring
from .models import Scale
from .services.scorecards import criterion_clean
from .settings import qa_setting


class ScorecardForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ScorecardSettingsForm(ScorecardForm):
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every team.",
    )
    channels = forms.MultipleChoiceField(
        choices=(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every channel.",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["teams"].queryset = Team.objects.filter(organization=organization)
        self.fields["channels"].choices = [(c, c) for c in sorted(allowed_channels(organization))]


class SectionForm(forms.Form):
    title = forms.CharField(max_length=120)


class CriterionForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the reviewer looks for; the agent sees it too.",
    )
    scale = forms.ChoiceField(choices=Scale.choices, initial=Scale.YES_NO)
    custom_points = forms.CharField(
        required=False,
        label="Custom points",
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "2 = Exceeds\n1 = Meets\n0 = Below"}
        ),
        help_text="For custom labelled points: one “value = label” a line.",
    )
    weight = forms.IntegerField(min_value=0, max_value=100, initial=10, help_text="0–100.")
    na_allowed = forms.BooleanField(required=False, initial=True, label="N/A allowed")
    critical = forms.BooleanField(required=False, label="Critical")
    critical_effect = forms.ChoiceField(
        choices=[
            (scoring.SECTION, "Fails its section"),
            (scoring.REVIEW, "Fails the whole review"),
        ],
        initial=scoring.SECTION,
        label="When it fails",
    )
    fail_at_or_below = forms.IntegerField(
        required=False,
        label="Failing value",
        help_text="A critical criterion fails at or below this answer value (yes = 1, no = 0).",
    )
    agent_controllable = forms.BooleanField(
        required=False,
        initial=True,
        label="Agent-controllable",
        help_text="The agent could have done this differently.",
    )

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        points = []
        if data.get("scale") == Scale.CUSTOM:
            for number, line in enumerate((data.get("custom_points") or "").splitlines(), 1):
                if not line.strip():
                    continue
                value, sep, label = line.partition("=")
                try:
                    points.append(
                        {"value": int(value.strip()), "label": label.strip() or value.strip()}
                    )
                except ValueError:
                    self.add_error(
                        "custom_points",
                        f"Line {number}: write “value = label”, e.g. “2 = Exceeds”.",
                    )
                    return data
                if not sep:
                    points[-1]["label"] = value.strip()
        fields = {
            "title": data["title"],
            "description": data.get("description", ""),
            "scale": data["scale"],
            "points": points,
            "weight": data["weight"],
            "na_allowed": data.get("na_allowed", False),
            "critical": data.get("critical", False),
            "critical_effect": data.get("critical_effect") or scoring.SECTION,
            "fail_at_or_below": data.get("fail_at_or_below"),
            "agent_controllable": data.get("agent_controllable", False),
        }
        try:
            self.criterion_fields = criterion_clean(fields)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error("custom_points" if field == "points" else field, messages)
        return data

    @classmethod
    def initial_for(cls, criterion) -> dict:
        return {
            "title": criterion.title,
            "description": criterion.description,
            "scale": criterion.scale,
            "custom_points": "\n".join(f"{p['value']} = {p['label']}" for p in criterion.points),
            "weight": criterion.weight,
            "na_allowed": criterion.na_allowed,
            "critical": criterion.critical,
            "critical_effect": criterion.critical_effect,
            "fail_at_or_below": criterion.fail_at_or_below,
            "agent_controllable": criterion.agent_controllable,
        }


class QASettingsForm(forms.Form):
    qa_blend_weight = forms.IntegerField(
        min_value=0,
        max_value=100,
        label="Customer rating in the QA score (%)",
        help_text="Customer-judged QA: 0 turns it off; 30 makes the QA score 70 % review, "
        "30 % the customer's stars.",
    )
    qa_dispute_window_days = forms.IntegerField(
        min_value=1, max_value=90, label="Dispute window (days)"
    )
    qa_dispute_lead_approval = forms.BooleanField(
        required=False,
        label="A team lead approves disputes first",
        help_text="Disputes go to the agent's team lead before the reviewer.",
    )
    qa_pass_baseline = forms.IntegerField(min_value=0, max_value=100, label="Pass mark (%)")
    qa_correlation_min_n = forms.IntegerField(
        min_value=4,
        max_value=10000,
        label="Minimum reviews for a correlation",
        help_text="Below it the correlation report says “not enough data”.",
    )

    @classmethod
    def initial_for(cls, organization) -> dict:
        return {name: qa_setting(organization, name) for name in cls.base_fields}
