"""Forms of the survey side: the admin's survey settings."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator

from .services.survey import QUESTIONS

QUESTION_CHOICES = [
    ("comment", "Comment (free text, up to 5,000 characters)"),
    ("resolved", "Was your issue resolved? (first-contact resolution)"),
    ("nps", "How likely to recommend us (NPS, 0–10)"),
    ("qualities", "Service qualities (chips)"),
    ("reward", "Reward recommendation (small / medium / large)"),
]
assert [c for c, _ in QUESTION_CHOICES] == list(QUESTIONS)

MAX_QUALITIES = 12
MAX_QUALITY_LENGTH = 60


class QualitiesField(forms.CharField):
    """One chip per line: 1–12 distinct labels of at most 60 characters."""

    widget = forms.Textarea(attrs={"rows": 5})

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list | tuple) else value

    def validate(self, value):
        if not value:
            raise forms.ValidationError("Give at least one quality, one per line.")
        if len(value) > MAX_QUALITIES:
            raise forms.ValidationError(f"At most {MAX_QUALITIES} qualities.")
        long = [v for v in value if len(v) > MAX_QUALITY_LENGTH]
        if long:
            raise forms.ValidationError(
                f"Each quality is at most {MAX_QUALITY_LENGTH} characters ('{long[0][:20]}…')."
            )
        lowered = [v.casefold() for v in value]
        if len(set(lowered)) != len(lowered):
            raise forms.ValidationError("Each quality only once.")


class SurveySettingsForm(forms.Form):
    send_delay_minutes = forms.IntegerField(
        label="Send delay (minutes)",
        min_value=0,
        max_value=7 * 24 * 60,
        help_text="Wait this long after the interaction before e-mailing the survey (0 = at once).",
    )
    suppression_days = forms.IntegerField(
        label="Suppression period (days)",
        min_value=0,
        max_value=365,
        help_text="Survey the same customer at most once in this many days (0 = no limit).",
    )
    finish_window_minutes = forms.IntegerField(
        label="Finish window (minutes)",
        min_value=1,
        max_value=24 * 60,
        help_text="A survey finishes and locks this long after the customer's last answer.",
    )
    survey_expiry_days = forms.IntegerField(
        label="Survey expiry (days)",
        min_value=1,
        max_value=90,
        help_text="Unanswered surveys close after this many days; older interactions are "
        "never surveyed.",
    )
    survey_questions = forms.MultipleChoiceField(
        label="Optional questions",
        choices=QUESTION_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The star rating is always asked; these follow it.",
    )
    qualities_positive = QualitiesField(
        label="Positive qualities (4–5 stars)", help_text="One per line, e.g. Friendly."
    )
    qualities_improvement = QualitiesField(
        label="Improvement qualities (1–3 stars)", help_text="One per line, e.g. Speed."
    )
    reward_threshold = forms.IntegerField(
        label="Reward question from (stars)",
        min_value=1,
        max_value=5,
        help_text="Ratings with at least this many stars are asked for a reward size.",
    )
    email_subject = forms.CharField(
        label="E-mail subject",
        max_length=200,
        required=False,
        help_text="Empty: “How did {agent} do?” in the customer's language. "
        "Placeholders: {agent}, {organization}, {customer}.",
    )
    email_intro = forms.CharField(
        label="E-mail intro",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Empty: a short translated default. Same placeholders as the subject.",
    )
    brand_color = forms.CharField(
        label="Colour",
        max_length=7,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #206bc4.")],
        widget=forms.TextInput(attrs={"type": "color"}),
        help_text="Used in the e-mail and on the survey page.",
    )
    test_address = forms.EmailField(
        label="Test address",
        required=False,
        help_text="Surveys of interactions sent with a test API key go here, and only here.",
    )

    def clean_email_subject(self):
        value = self.cleaned_data["email_subject"]
        if "\n" in value or "\r" in value:
            raise forms.ValidationError("The subject must be one line.")
        return value.strip()
