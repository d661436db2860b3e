"""Wires formal coaching (1:1 sessions, goals, coverage, effectiveness) into coaching: the beat
task module, the seed_demo step and the navigation entries (called from CoachingConfig.ready)."""

from __future__ import annotations


def ready() -> None:
    from coachhub.core.navigation import ADMIN, ALL_ROLES, STAFF, NavItem, nav_register

    from . import seed_sessions, tasks_sessions  # noqa: F401  (task + seed step registration)

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
