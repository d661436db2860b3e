from django.apps import AppConfig


class CoachingConfig(AppConfig):
    name = "coaching"

    def ready(self):
        from django.urls import reverse

        from coachhub.accounts.services import ORGANIZATION_DEFAULTS
        from coachhub.core.navigation import ADMIN, AGENT, ALL_ROLES, STAFF, NavItem, nav_register
        from qa.hooks import review_action_register

        from . import consumers  # noqa: F401  (web processes must know the consumers too)
        from .services.defaults import coaching_defaults

        if coaching_defaults not in ORGANIZATION_DEFAULTS:
            ORGANIZATION_DEFAULTS.append(coaching_defaults)

        def coach_on_review(review, viewer):
            if not (viewer.is_supervisor or viewer.is_admin) or review.agent_id == viewer.pk:
                return None
            url = reverse("coaching:note_new", kwargs={"org": viewer.organization.slug})
            return {
                "label": "Coach on this",
                "icon": "message-circle-heart",
                "url": f"{url}?review={review.public_id}",
            }

        review_action_register(coach_on_review)

        from . import recovery_wiring  # service recovery + digests: consumer, hook, navigation

        recovery_wiring.ready()

        from . import sessions_wiring  # 1:1 sessions + goals: task, seed step, navigation

        sessions_wiring.ready()

        from feedback.stream_views import stream_actions_register

        from .views import stream_card_actions

        stream_actions_register(stream_card_actions)

        for item in (
            NavItem(
                "my_feedback",
                "My feedback",
                "feedback:my_stream",
                icon="message-2",
                roles=AGENT,
                order=15,
            ),
            NavItem(
                "team_stream",
                "Feedback stream",
                "feedback:team_stream",
                icon="message-2",
                roles=STAFF,
                order=15,
            ),
            NavItem(
                "alerts",
                "Alerts",
                "coaching:alert_list",
                icon="alert-triangle",
                roles=STAFF,
                order=16,
            ),
            NavItem(
                "coaching",
                "Coaching",
                "coaching:note_list",
                icon="message-circle-heart",
                roles=ALL_ROLES,
                order=17,
            ),
            NavItem(
                "saved",
                "Saved for 1:1",
                "coaching:saved_list",
                icon="bookmark",
                roles=AGENT,
                order=18,
            ),
            NavItem(
                "alert_rules",
                "Alert rules",
                "coaching:rule_list",
                icon="bell-cog",
                roles=ADMIN,
                order=45,
                section="manage",
            ),
            NavItem(
                "outbound_webhook",
                "Webhooks & Slack",
                "coaching:integrations",
                icon="webhook",
                roles=ADMIN,
                order=46,
                section="manage",
            ),
        ):
            nav_register(item)
