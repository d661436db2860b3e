from rest_framework import serializers


class AlertRuleOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    kind = serializers.CharField()


class AlertOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    rule = AlertRuleOut()
    interaction = serializers.UUIDField(source="interaction.public_id")
    response = serializers.UUIDField(source="response.public_id")
    agent = serializers.UUIDField(source="agent.public_id")
    reason = serializers.CharField()
    state = serializers.CharField()
    no_longer_matches = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
