"""Recognition API shapes (read-only)."""

from __future__ import annotations

from rest_framework import serializers


class PersonOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="display_name")


class KudosOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    recipient = PersonOut()
    giver = PersonOut()
    from_supervisor = serializers.BooleanField()
    behaviour = serializers.CharField()
    message = serializers.CharField()
    response = serializers.UUIDField(source="response.public_id", allow_null=True, default=None)
    created_at = serializers.DateTimeField()


class RewardOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    agent = PersonOut()
    tier = serializers.CharField(help_text="`small`, `medium` or `large`.")
    votes = serializers.IntegerField(help_text="Customer votes it took.")
    earned_at = serializers.DateTimeField()
    status = serializers.CharField(help_text="`earned`, `approved` or `fulfilled`.")
    reward = serializers.CharField(source="item.name", allow_null=True, default=None)
    approved_at = serializers.DateTimeField(allow_null=True)
    fulfilled_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()


class LeaderboardEntryOut(serializers.Serializer):
    agent = serializers.UUIDField()
    name = serializers.CharField()
    rank = serializers.IntegerField(allow_null=True, help_text="Null: not enough data.")
    smoothed = serializers.FloatField(allow_null=True)
    raw = serializers.FloatField(allow_null=True)
    n = serializers.IntegerField()
    prior_mean = serializers.FloatField(
        allow_null=True, help_text="The team mean it is pulled toward."
    )


class LeaderboardOut(serializers.Serializer):
    metric = serializers.CharField()
    period = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    team = serializers.UUIDField(allow_null=True)
    min_n = serializers.IntegerField()
    prior_weight = serializers.IntegerField()
    method = serializers.CharField()
    ranked = LeaderboardEntryOut(many=True)
    not_enough_data = LeaderboardEntryOut(many=True)
