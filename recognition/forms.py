"""Forms of recognition's pages (validation only; writes go through services)."""

from __future__ import annotations

from django import forms

from coachhub.tenancy.models import RecognitionPreference

from .models import MOTIVATOR_CHOICES, Tier
from .selectors import METRICS


class KudosForm(forms.Form):
    recipient = forms.ChoiceField(label="To")
    behaviour = forms.ChoiceField(
        label="Behaviour", help_text="What they did well, in one word or two."
    )
    message = forms.CharField(
        label="Message",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Be specific: what did they do, and what difference did it make?",
    )

    def __init__(self, *args, recipients, behaviours, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].choices = [("", "Choose…")] + [
            (str(m.public_id), m.display_name) for m in recipients
        ]
        self.fields["behaviour"].choices = [("", "Choose…")] + [(b, b) for b in behaviours]


class PreferenceForm(forms.Form):
    recognition_preference = forms.ChoiceField(
        label="Show my kudos",
        choices=RecognitionPreference.choices,
        widget=forms.RadioSelect,
    )
    choices = forms.MultipleChoiceField(
        label="What motivates me",
        choices=MOTIVATOR_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    motivators = forms.CharField(label="In my own words", max_length=200, required=False)


class RewardItemForm(forms.Form):
    tier = forms.ChoiceField(choices=Tier.choices)
    name = forms.CharField(max_length=120)
    description = forms.CharField(max_length=300, required=False)


class KudosBehaviourForm(forms.Form):
    name = forms.CharField(max_length=80, label="Behaviour")
    description = forms.CharField(
        max_length=200,
        required=False,
        label="What it looks like",
        help_text="Optional: one sentence that tells givers when this behaviour fits.",
    )


class RewardActionForm(forms.Form):
    item = forms.ChoiceField(label="Reward from the catalogue", required=False)
    note = forms.CharField(
        label="Note", max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].choices = [("", "Choose…")] + [
            (str(i.public_id), i.name) for i in items
        ]


class LeaderboardQuery(forms.Form):
    metric = forms.ChoiceField(choices=list(METRICS.items()), required=False)
    period = forms.ChoiceField(
        choices=[("week", "Last 7 days"), ("month", "Last 30 days"), ("custom", "Custom")],
        required=False,
    )
    team = forms.ChoiceField(required=False)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Whole organization")] + [
            (str(t.public_id), t.name) for t in teams
        ]

    def clean(self):
        data = super().clean()
        if data.get("period") == "custom":
            if not data.get("start"):
                self.add_error("start", "Choose the first day.")
            if not data.get("end"):
                self.add_error("end", "Choose the last day.")
            elif data.get("start") and data["end"] < data["start"]:
                self.add_error("end", "The last day is before the first.")
            elif data.get("start") and (data["end"] - data["start"]).days > 366:
                self.add_error("end", "At most a year.")
        return data


class TVLinkForm(forms.Form):
    name = forms.CharField(max_length=80, label="Screen name")
    team = forms.ChoiceField(required=False)
    metric = forms.ChoiceField(choices=list(METRICS.items()))
    period = forms.ChoiceField(choices=[("week", "Last 7 days"), ("month", "Last 30 days")])

    def __init__(self, *args, teams, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "Whole organization")] + [
            (str(t.public_id), t.name) for t in teams
        ]


class RecognitionSettingsForm(forms.Form):
    reward_votes_small = forms.IntegerField(
        min_value=1, max_value=1000, label="Votes for a small reward"
    )
    reward_votes_medium = forms.IntegerField(
        min_value=1, max_value=1000, label="Votes for a medium reward"
    )
    reward_votes_large = forms.IntegerField(
        min_value=1, max_value=1000, label="Votes for a large reward"
    )
    leaderboard_min_n = forms.IntegerField(
        min_value=1,
        max_value=10000,
        label="Minimum responses to be ranked",
        help_text="Fewer in the period: listed apart as “not enough data”.",
    )
    leaderboard_prior_weight = forms.IntegerField(
        min_value=0,
        max_value=10000,
        label="Prior weight",
        help_text="Each average is pulled toward the team mean as if it had this many extra "
        "responses at the mean.",
    )
    leaderboard_agents_enabled = forms.BooleanField(required=False, label="Agents see leaderboards")
    leaderboard_agents_top_n = forms.IntegerField(
        min_value=0,
        max_value=1000,
        label="Agents see only the top N and their own rank",
        help_text="0: agents see the whole ranking.",
    )
