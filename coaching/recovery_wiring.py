"""Wires service recovery and the daily digest into coaching (called from CoachingConfig.ready):
the outbox consumer, the alert page's recovery hook, navigation entries."""

from __future__ import annotations

from coachhub.core.outbox import consumer


@consumer("response.finished", name="coaching.recovery")
def _recovery_on_finished(event) -> None:
    from coachhub.tenancy.models import Organization

    from .services import recovery

    organization = Organization.objects.get(pk=event.organization_id)
    recovery.response_finished(organization, event.data)


def ready() -> None:
    from coachhub.core.navigation import ADMIN, NavItem, nav_register
    from coachhub.tenancy.models import Role

    # digest_tasks registers the Celery tasks; seed_recovery the seed_demo step.
    from . import digest_tasks, hooks, seed_recovery  # noqa: F401
    from .recovery_views import open_from_alert
    from .selectors_recovery import may_work

    hooks.recovery_opener_set(open_from_alert)
    for item in (
        NavItem(
            "recovery",
            "Service recovery",
            "coaching:recovery_queue",
            icon="lifebuoy",
            roles=frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
            order=19,
            when=lambda m: may_work(m) or m.is_supervisor,
        ),
        NavItem(
            "recovery_rule",
            "Recovery rule",
            "coaching:recovery_rule",
            icon="lifebuoy",
            roles=ADMIN,
            order=47,
            section="manage",
        ),
        NavItem(
            "digest_preview",
            "Digest e-mail",
            "coaching:digest_preview",
            icon="mail",
            roles=frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AGENT}),
            order=20,
        ),
    ):
        nav_register(item)
