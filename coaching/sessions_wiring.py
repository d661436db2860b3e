"""Wires formal coaching (1:1 sessions, goals, coverage, effectiveness) into coaching: the beat
task module, the seed_demo step, the navigation entries and the QA review page's "Save for 1:1"
button (called from CoachingConfig.ready)."""

from __future__ import annotations


def save_review_action(review, viewer) -> dict | None:
    """The QA review page's "Save for 1:1" button (qa's review_action_register): for the
    reviewed agent and for a coach of theirs; it toggles."""
    from django.urls import reverse

    from .selectors import saved_review_ids
    from .services.sessions import may_save_review

    if not may_save_review(viewer, review):
        return None
    saved = review.pk in saved_review_ids(viewer, [review.pk])
    return {
        "label": "Saved for 1:1" if saved else "Save for 1:1",
        "icon": "bookmark",
        "url": reverse(
            "coaching:save_review",
            kwargs={"org": viewer.organization.slug, "review_id": review.public_id},
        ),
        "method": "post",
        "active": saved,
    }


def ready() -> None:
    from coachhub.core.navigation import ADMIN, ALL_ROLES, STAFF, NavItem, nav_register
    from qa.hooks import review_action_register

    from . import seed_sessions, tasks_sessions  # noqa: F401  (task + seed step registration)

    review_action_register(save_review_action)

    for item in (
        NavItem(
            "sessions",
            "1:1 sessions",
            "coaching:session_list",
            icon="users",
            roles=ALL_ROLES,
            order=20,
        ),
        NavItem("goals", "Goals", "coaching:goal_list", icon="target", roles=ALL_ROLES, order=21),
        NavItem(
            "coverage",
            "Coaching coverage",
            "coaching:coverage",
            icon="chart-pie",
            roles=STAFF,
            order=22,
        ),
        NavItem(
            "effectiveness",
            "Coaching effectiveness",
            "coaching:effectiveness",
            icon="chart-arrows",
            roles=ADMIN,
            order=47,
            section="manage",
        ),
        NavItem(
            "session_categories",
            "1:1 categories",
            "coaching:category_list",
            icon="list-details",
            roles=ADMIN,
            order=48,
            section="manage",
        ),
    ):
        nav_register(item)
