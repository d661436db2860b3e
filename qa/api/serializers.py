"""QA API shapes (read-only)."""

from __future__ import annotations

from rest_framework import serializers


class ScorecardCriterionOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    lineage = serializers.UUIDField(help_text="Same id for this criterion across versions.")
    title = serializers.CharField()
    description = serializers.CharField()
    scale = serializers.CharField(help_text="`yes_no`, `1_3`, `1_5` or `custom`.")
    points = serializers.ListField(
        source="options",
        child=serializers.DictField(),
        help_text='Answer options, best first: `[{"value": 1, "label": "Yes"}, ...]`.',
    )
    weight = serializers.IntegerField(help_text="0–100.")
    na_allowed = serializers.BooleanField()
    critical = serializers.BooleanField()
    critical_effect = serializers.CharField(help_text="`section` or `review` (when critical).")
    fail_at_or_below = serializers.IntegerField(
        allow_null=True, help_text="A critical criterion fails at or below this value."
    )
    agent_controllable = serializers.BooleanField()


class ScorecardSectionOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    criteria = ScorecardCriterionOut(many=True, source="criteria_list")


class ScorecardVersionSummaryOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    number = serializers.IntegerField()
    status = serializers.CharField(help_text="`draft`, `published` or `superseded`.")
    published_at = serializers.DateTimeField(allow_null=True)


class ScorecardVersionOut(ScorecardVersionSummaryOut):
    sections = ScorecardSectionOut(many=True, source="section_list")


class ScorecardOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    description = serializers.CharField()
    channels = serializers.ListField(
        child=serializers.CharField(), help_text="Empty: every channel."
    )
    teams = serializers.ListField(
        child=serializers.UUIDField(), source="team_ids", help_text="Empty: every team."
    )
    archived = serializers.BooleanField(source="is_archived")
    created_at = serializers.DateTimeField()
    versions = ScorecardVersionSummaryOut(many=True, source="version_list")


class ScorecardDetailOut(ScorecardOut):
    versions = ScorecardVersionOut(many=True, source="version_list")


class ReviewPersonOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")
    email = serializers.EmailField(source="user.email")


class ReviewOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    interaction = serializers.UUIDField(source="interaction.public_id")
    scorecard = serializers.UUIDField(source="version.scorecard.public_id")
    version = serializers.UUIDField(source="version.public_id")
    version_number = serializers.IntegerField(source="version.number")
    agent = ReviewPersonOut()
    reviewer = ReviewPersonOut()
    hide_reviewer = serializers.BooleanField(help_text="The agent does not see the reviewer.")
    coaching_only = serializers.BooleanField(help_text="Does not count toward QA scores.")
    score = serializers.FloatField(
        allow_null=True, help_text="The QA part, 0–100; null when not scorable."
    )
    scorable = serializers.BooleanField()
    failed = serializers.BooleanField(help_text="A critical criterion zeroed the whole review.")
    customer_stars = serializers.IntegerField(
        source="stars", allow_null=True, help_text="The interaction's customer rating."
    )
    final_score = serializers.FloatField(
        source="final",
        allow_null=True,
        help_text="With the customer rating blended in at the organization's weight.",
    )
    dispute_status = serializers.CharField(allow_null=True, source="dispute_state")
    submitted_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ReviewAnswerOut(serializers.Serializer):
    criterion = serializers.UUIDField(source="criterion.public_id")
    lineage = serializers.UUIDField(source="criterion.lineage")
    title = serializers.CharField(source="criterion.title")
    value = serializers.IntegerField(allow_null=True)
    label = serializers.CharField(allow_null=True)
    na = serializers.BooleanField()
    percent = serializers.FloatField(allow_null=True, help_text="The criterion's 0–100 %.")
    comment = serializers.CharField()


class ReviewDetailOut(ReviewOut):
    overall_comment = serializers.CharField()
    answers = ReviewAnswerOut(many=True, source="answer_list")
