"""Real objects of the *other* organization for every URL argument (cross-tenant route test).

``tests/test_cross_tenant_routes.py`` walks every URL under ``/o/<slug:org>/`` and ``/api/v1/``,
fills ``org`` with org A's slug (signed in as org A's admin, or with an org A API key) and every
other URL argument with a real object of org B, made by a factory registered here, and asserts a
404 byte-identical to the one for a random missing id. A route whose argument has no factory
fails that test, so:

    When you add a URL argument, register a factory for it here:

        @register("survey_id")
        def survey(cast):
            with tenant_context(cast.org_b):
                return make_survey(cast.org_b, ...).public_id

A factory takes the ``cast`` fixture (see tests/conftest.py; org B is ``cast.org_b`` "globex"
with supervisor ``cast.bob``, agent ``cast.bea`` and team ``cast.team_b1``) and returns the
value to put in the URL (usually a ``public_id``). It must create tenant rows inside
``tenant_context(cast.org_b)`` (RLS refuses them otherwise).

Keys are the URL argument's name (``"team_id"``), or ``"<route name>:<argument>"`` when one
route needs a different object for a generic name (``"feedback:interaction_detail:pk"``); the
route-specific key wins. Registering the same key twice is an error (two apps disagreeing).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coachhub.tenancy.context import tenant_context

Factory = Callable[[Any], Any]
ROUTE_OBJECTS: dict[str, Factory] = {}


def register(*keys: str) -> Callable[[Factory], Factory]:
    def add(factory: Factory) -> Factory:
        for key in keys:
            if key in ROUTE_OBJECTS and ROUTE_OBJECTS[key] is not factory:
                raise ValueError(f"route object factory {key!r} registered twice")
            ROUTE_OBJECTS[key] = factory
        return factory

    return add


def factory_for(route_name: str | None, kwarg: str) -> Factory | None:
    if route_name and f"{route_name}:{kwarg}" in ROUTE_OBJECTS:
        return ROUTE_OBJECTS[f"{route_name}:{kwarg}"]
    return ROUTE_OBJECTS.get(kwarg)


# --- core: tenancy and accounts -----------------------------------------------------------------


@register("team_id", "team")
def team_of_org_b(cast):
    return cast.team_b1.public_id


@register("member_id", "membership_id", "agent_id", "person_id", "member")
def member_of_org_b(cast):
    return cast.bea.public_id


@register("supervisor_id")
def supervisor_of_org_b(cast):
    return cast.bob.public_id


@register("key_id", "api_key_id")
def api_key_of_org_b(cast):
    from coachhub.accounts.services import api_key_create

    with tenant_context(cast.org_b):
        key, _secret = api_key_create(organization=cast.org_b, name="Globex key")
    return key.public_id


@register("invitation_id", "invite_id")
def invitation_of_org_b(cast):
    from coachhub.accounts.services import invitation_create

    with tenant_context(cast.org_b):
        invitation, _token = invitation_create(
            organization=cast.org_b,
            email="new.hire@globex.test",
            role="agent",
            team=cast.team_b1,
            invited_by=cast.bob.user,
        )
    return invitation.public_id


# --- core: notifications and events -------------------------------------------------------------


@register("notification_id")
def notification_of_org_b(cast):
    from coachhub.core.models import Notification

    with tenant_context(cast.org_b):
        n = Notification.objects.create(
            organization=cast.org_b, recipient=cast.bob, kind="test", title="For Bob only"
        )
    return n.public_id


@register("event_id")
def event_of_org_b(cast):
    from coachhub.core.models import Event

    with tenant_context(cast.org_b):
        e = Event.objects.create(organization=cast.org_b, type="test.happened", data={})
    return e.public_id


# --- feedback -----------------------------------------------------------------------------------


@register("interaction_id")
def interaction_of_org_b(cast):
    from feedback.services.ingest import interaction_ingest

    item = {
        "external_id": "GLOBEX-1",
        "channel": "email",
        "agent": {"email": "bea@globex.test"},
        "customer": {"name": "Globex Customer", "email": "customer@globex.example"},
    }
    with tenant_context(cast.org_b):
        return interaction_ingest(cast.org_b, item).ids[0]


# --- feedback: inbound channels (Zendesk endpoints, CSV imports) ---------------------------------


@register("endpoint_id")
def webhook_endpoint_of_org_b(cast):
    from feedback.services.zendesk import endpoint_create

    with tenant_context(cast.org_b):
        return endpoint_create(organization=cast.org_b, name="Globex Zendesk").public_id


@register("delivery_id")
def inbound_delivery_of_org_b(cast):
    from feedback.models_channels import InboundDelivery, InboundStatus
    from feedback.services.zendesk import endpoint_create

    with tenant_context(cast.org_b):
        ep = endpoint_create(organization=cast.org_b, name="Globex Zendesk (deliveries)")
        d = InboundDelivery.objects.create(
            organization=cast.org_b,
            endpoint=ep,
            dedupe_key="1:ticket.solved",
            body="{}",
            status=InboundStatus.PARKED,
            reason="agent: unknown",
        )
    return d.public_id


@register("import_id")
def csv_import_of_org_b(cast):
    from django.core.files.base import ContentFile

    from feedback.services.csv_import import csv_import_create

    with tenant_context(cast.org_b):
        imp = csv_import_create(
            organization=cast.org_b,
            uploaded=ContentFile(b"external_id,channel\n", name="globex.csv"),
            history=False,
        )
    return imp.public_id


# --- qa: scorecards, reviews, disputes ----------------------------------------------------------


def _qa_card_of_org_b(cast):
    from .qa_factories import make_scorecard

    return make_scorecard(cast.org_b, cast.bob, name="Globex card")


@register("scorecard_id")
def qa_scorecard_of_org_b(cast):
    return _qa_card_of_org_b(cast).public_id


@register("version_id")
def qa_version_of_org_b(cast):
    card = _qa_card_of_org_b(cast)
    with tenant_context(cast.org_b):
        return card.versions.get().public_id


@register("section_id")
def qa_section_of_org_b(cast):
    from qa.models import Section

    card = _qa_card_of_org_b(cast)
    with tenant_context(cast.org_b):
        return Section.objects.filter(version__scorecard=card).first().public_id


@register("criterion_id")
def qa_criterion_of_org_b(cast):
    from qa.models import Criterion

    card = _qa_card_of_org_b(cast)
    with tenant_context(cast.org_b):
        return Criterion.objects.filter(version__scorecard=card).first().public_id


def _qa_review_of_org_b(cast):
    from .qa_factories import make_interaction, make_review

    interaction = make_interaction(cast.org_b, cast.bea)
    return make_review(cast.bob, interaction, _qa_card_of_org_b(cast))


@register("review_id")
def qa_review_of_org_b(cast):
    return _qa_review_of_org_b(cast).public_id


@register("dispute_id")
def qa_dispute_of_org_b(cast):
    from qa.services.disputes import dispute_open

    review = _qa_review_of_org_b(cast)
    with tenant_context(cast.org_b):
        return dispute_open(
            review, agent=cast.bea, reason="Globex dispute", whole_review=True, criteria=[]
        ).public_id


# --- feedback streams and coaching (alerts, rules, notes, follow-ups, saved, deliveries) -------


def _response_of_org_b(cast):
    from .qa_factories import make_interaction, rate

    return rate(make_interaction(cast.org_b, cast.bea), 1)


@register("response_id")
def response_of_org_b(cast):
    return _response_of_org_b(cast).public_id


def _alert_of_org_b(cast):
    from coaching.models import Alert, AlertRule

    response = _response_of_org_b(cast)
    with tenant_context(cast.org_b):
        rule = AlertRule.objects.filter(organization=cast.org_b).first()
        return Alert.objects.create(
            organization=cast.org_b,
            rule=rule,
            response=response,
            interaction_id=response.interaction_id,
            agent_id=response.agent_id,
            team_id=response.team_id,
            reason="Globex alert",
        )


@register("alert_id")
def alert_of_org_b(cast):
    return _alert_of_org_b(cast).public_id


@register("rule_id")
def alert_rule_of_org_b(cast):
    from coaching.models import AlertRule

    with tenant_context(cast.org_b):
        return AlertRule.objects.filter(organization=cast.org_b).first().public_id


@register("behaviour_id")
def behaviour_of_org_b(cast):
    from coaching.models import FocusBehaviour

    with tenant_context(cast.org_b):
        return FocusBehaviour.objects.filter(organization=cast.org_b).first().public_id


def _note_of_org_b(cast):
    from coaching.models import FocusBehaviour, NoteKind
    from coaching.services.notes import note_create

    with tenant_context(cast.org_b):
        return note_create(
            author=cast.bob,
            agent=cast.bea,
            kind=NoteKind.DEVELOPMENTAL,
            behaviour=FocusBehaviour.objects.filter(organization=cast.org_b).first(),
            body="Globex note",
        )


@register("note_id")
def note_of_org_b(cast):
    return _note_of_org_b(cast).public_id


@register("follow_up_id")
def follow_up_of_org_b(cast):
    from coaching.models import FollowUp

    note = _note_of_org_b(cast)
    with tenant_context(cast.org_b):
        return FollowUp.objects.get(organization=cast.org_b, note=note).public_id


@register("channel_delivery_id")
def channel_delivery_of_org_b(cast):
    import uuid

    from coaching.models import ChannelDelivery, DeliveryState

    with tenant_context(cast.org_b):
        return ChannelDelivery.objects.create(
            organization=cast.org_b,
            kind="webhook",
            event_id=uuid.uuid4(),
            event_type="ping",
            target="https://globex.example/hook",
            body="{}",
            state=DeliveryState.FAILED,
        ).public_id


# --- recognition --------------------------------------------------------------------------------


@register("reward_id")
def earned_reward_of_org_b(cast):
    from recognition.models import EarnedReward

    with tenant_context(cast.org_b):
        return EarnedReward.objects.create(
            organization=cast.org_b, agent=cast.bea, tier="small", votes=1
        ).public_id


@register("item_id")
def reward_item_of_org_b(cast):
    from recognition.models import RewardItem

    with tenant_context(cast.org_b):
        return RewardItem.objects.create(
            organization=cast.org_b, tier="small", name="Globex coffee"
        ).public_id


@register("kudos_behaviour_id")
def kudos_behaviour_of_org_b(cast):
    from recognition.models import KudosBehaviour

    with tenant_context(cast.org_b):
        return KudosBehaviour.objects.create(organization=cast.org_b, name="Globex only").public_id


@register("link_id")
def tv_link_of_org_b(cast):
    from recognition.services.tv import tv_link_create

    with tenant_context(cast.org_b):
        from tests.factories import make_member

        admin = make_member(cast.org_b, "admin")
        link, _secret = tv_link_create(admin, name="Globex floor")
    return link.public_id


# --- service recovery (coaching/recovery_urls.py) -----------------------------------------------


@register("case_id")
def recovery_case_of_org_b(cast):
    from coaching.services.recovery import case_open
    from tests.coaching_helpers import answered

    response = answered(cast.org_b, cast.bea, 1, answers={"comment": "Globex recovery"})
    with tenant_context(cast.org_b):
        case, _ = case_open(response, reason="Globex case")
    return case.public_id


# --- formal coaching: 1:1 sessions, action items, goals (coaching/urls_sessions.py) -------------


def _session_of_org_b(cast):
    from coaching.services.sessions import session_prepare

    with tenant_context(cast.org_b):
        return session_prepare(supervisor=cast.bob, agent=cast.bea, purpose="Globex 1:1")


@register("session_id")
def session_of_org_b(cast):
    return _session_of_org_b(cast).public_id


@register("coaching:category_edit:category_id", "coaching:category_toggle:category_id")
def session_category_of_org_b(cast):
    from coaching.services.sessions import category_save

    with tenant_context(cast.org_b):
        return category_save(
            cast.org_b, {"name": "Globex category", "prompts": "Globex prompt"}
        ).public_id


@register("action_id")
def action_item_of_org_b(cast):
    from coaching.services.sessions import action_add

    session = _session_of_org_b(cast)
    with tenant_context(cast.org_b):
        return action_add(
            session, cast.bob, text="Globex action", owner_id=cast.bea.public_id
        ).public_id


@register("goal_id")
def goal_of_org_b(cast):
    from datetime import timedelta

    from django.utils import timezone

    from coaching.services.goals import goal_create

    with tenant_context(cast.org_b):
        return goal_create(
            created_by=cast.bob,
            agent=cast.bea,
            title="Globex goal",
            metric="avg_stars",
            target=4.5,
            due_date=timezone.localdate() + timedelta(days=30),
            accept_warnings=True,
        ).public_id
