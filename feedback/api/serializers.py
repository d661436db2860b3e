"""API shapes. Input is validated by ``feedback.services.ingest`` (one validator for every
channel); the input serializers here only describe the contract for the OpenAPI schema."""

from __future__ import annotations

from rest_framework import serializers

from ..models import Channel, RequestStatus, SurveyState

CHANNEL_HELP = (
    f"One of {', '.join(Channel.values)}, or a channel the organization defined "
    "(setting `custom_channels`)."
)


# --- input (documentation of the contract) ---------------------------------------------------


class AgentRefIn(serializers.Serializer):
    email = serializers.EmailField(
        required=False, help_text="E-mail of an active agent of the key's organization."
    )
    employee_id = serializers.CharField(
        required=False, help_text="Employee id of an active agent (used when no e-mail is given)."
    )


class CustomerIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, help_text="The customer's name.")
    email = serializers.EmailField(max_length=254, help_text="Where the survey goes.")
    phone = serializers.CharField(required=False, max_length=40, help_text="Optional phone number.")
    language = serializers.CharField(
        required=False,
        max_length=16,
        help_text="Survey language, e.g. `es` or `pt-BR` (else the organization's).",
    )


class InteractionIn(serializers.Serializer):
    external_id = serializers.CharField(
        max_length=200,
        help_text="The helpdesk's id. With `source` it makes the call idempotent: a repeat "
        "answers 200 with the stored interaction and its body is ignored.",
    )
    channel = serializers.CharField(max_length=40, help_text=CHANNEL_HELP)
    agent = AgentRefIn(help_text='`{"email": ...}` or `{"employee_id": ...}`.')
    customer = CustomerIn(help_text="Who is surveyed.")
    occurred_at = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601 with offset; default now. More than 5 minutes in the future is "
        "refused; older than the survey expiry (default 14 days) is stored but never surveyed.",
    )
    source = serializers.CharField(
        required=False, default="api", max_length=50, help_text="Where it came from; default `api`."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        max_length=20,
        help_text="Up to 20 tags.",
    )
    properties = serializers.DictField(
        child=serializers.CharField(max_length=2000),
        required=False,
        help_text="A flat string → string map (≤ 50 keys, values ≤ 2,000 characters).",
    )
    do_not_send = serializers.BooleanField(
        required=False, default=False, help_text="Store it (it still counts) but send no survey."
    )
    ticket_url = serializers.URLField(
        required=False, max_length=1000, help_text="Link back to the ticket in the helpdesk."
    )


class BulkIn(serializers.Serializer):
    interactions = InteractionIn(
        many=True, help_text="Up to 1,000 interactions; all are stored or none."
    )


class BulkOut(serializers.Serializer):
    created = serializers.IntegerField(help_text="How many interactions this call stored.")
    duplicates = serializers.IntegerField(
        help_text="How many items were already stored (or repeated an earlier item)."
    )
    ids = serializers.ListField(
        child=serializers.UUIDField(), help_text="Each item's interaction id, in input order."
    )


# --- output ----------------------------------------------------------------------------------


class AgentRefOut(serializers.Serializer):
    id = serializers.UUIDField(source="agent.public_id", help_text="The agent's id.")
    name = serializers.SerializerMethodField(help_text="Display name.")
    email = serializers.EmailField(source="agent.user.email", help_text="The agent's e-mail.")
    employee_id = serializers.CharField(
        source="agent_employee_id", allow_null=True, help_text="Employee id, if set."
    )

    def get_name(self, obj) -> str:
        user = obj.agent.user
        return obj.agent_display_name or user.get_full_name() or user.email


class TeamRefOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="The team's id.")
    name = serializers.CharField(help_text="The team's name.")


class CustomerOut(serializers.Serializer):
    name = serializers.CharField(source="customer_name", help_text="The customer's name.")
    email = serializers.EmailField(
        source="customer_email", help_text="The customer's e-mail (lower-case)."
    )
    phone = serializers.CharField(source="customer_phone", help_text="Phone, or empty.")
    language = serializers.CharField(
        source="customer_language", help_text="Survey language, or empty."
    )


class InteractionOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="The interaction's id.")
    external_id = serializers.CharField(help_text="The helpdesk's id.")
    source = serializers.CharField(help_text="Where it came from (`api`, `zendesk`, `csv`, ...).")
    mode = serializers.ChoiceField(
        choices=["live", "test"], help_text="`test` when stored with a test key (never counts)."
    )
    status = serializers.ChoiceField(
        choices=RequestStatus.values, allow_null=True, help_text="Delivery status of its survey."
    )
    survey_state = serializers.ChoiceField(
        choices=SurveyState.values, allow_null=True, help_text="Progress of its survey."
    )
    channel = serializers.CharField(help_text=CHANNEL_HELP)
    agent = AgentRefOut(source="*", help_text="The agent who handled it (at that time).")
    team = TeamRefOut(allow_null=True, help_text="The agent's team when it happened.")
    customer = CustomerOut(source="*", help_text="The customer.")
    occurred_at = serializers.DateTimeField(help_text="When the contact happened.")
    tags = serializers.ListField(child=serializers.CharField(), help_text="Tags.")
    properties = serializers.DictField(
        child=serializers.CharField(), help_text="Custom string properties."
    )
    do_not_send = serializers.BooleanField(help_text="No survey is sent for it.")
    ticket_url = serializers.CharField(help_text="Link to the ticket, or empty.")
    created_at = serializers.DateTimeField(help_text="When CoachHub stored it.")


class AgentOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="The agent's id.")
    name = serializers.SerializerMethodField(help_text="Display name.")
    email = serializers.EmailField(
        source="user.email", help_text="E-mail (used to match interactions)."
    )
    employee_id = serializers.CharField(
        allow_null=True, help_text="Employee id (also matches interactions), if set."
    )
    team = TeamRefOut(allow_null=True, help_text="Current team.")
    active = serializers.BooleanField(
        source="is_active",
        help_text="Inactive agents keep their history but get no new interactions.",
    )

    def get_name(self, obj) -> str:
        return obj.display or obj.user.get_full_name() or obj.user.email


class ResponseOut(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", help_text="The response's id.")
    interaction_id = serializers.UUIDField(
        source="interaction.public_id", help_text="The interaction it rates."
    )
    agent = serializers.SerializerMethodField(help_text="The rated agent: id and name.")
    stars = serializers.IntegerField(allow_null=True, help_text="1–5.")
    comment = serializers.CharField(help_text="The customer's comment, or empty.")
    resolved = serializers.BooleanField(
        allow_null=True, help_text="Was the issue resolved? null if not answered."
    )
    nps = serializers.IntegerField(allow_null=True, help_text="0–10, null if not answered.")
    qualities = serializers.ListField(
        child=serializers.CharField(), help_text="Qualities the customer chose."
    )
    reward_tier = serializers.CharField(help_text="Recommended reward tier, or empty.")
    submitted_at = serializers.DateTimeField(help_text="When the first answer was recorded.")
    updated_at = serializers.DateTimeField(help_text="Last change (filter with `since`).")
    finished = serializers.BooleanField(help_text="The survey is finished and locked.")
    excluded = serializers.BooleanField(help_text="Left out of metrics by an admin.")

    def get_agent(self, obj) -> dict:
        user = obj.agent.user
        return {
            "id": str(obj.agent.public_id),
            "name": obj.agent_display_name or user.get_full_name() or user.email,
        }
