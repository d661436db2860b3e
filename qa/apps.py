from django.apps import AppConfig


class QaConfig(AppConfig):
    name = "qa"

    def ready(self):
        from coachhub.core.navigation import ADMIN, ALL_ROLES, NavItem, nav_register

        for item in (
            NavItem(
                "qa", "QA reviews", "qa:home", icon="clipboard-check", roles=ALL_ROLES, order=40
            ),
            NavItem(
                "qa_disputes",
                "QA disputes",
                "qa:dispute_list",
                icon="message-report",
                roles=ALL_ROLES,
                order=41,
            ),
            NavItem(
                "qa_reports",
                "QA reports",
                "qa:reports",
                icon="chart-bar",
                roles=ALL_ROLES,
                order=42,
                when=lambda m: m.is_admin or m.is_supervisor or m.is_reviewer,
            ),
            NavItem(
                "qa_scorecards",
                "QA scorecards",
                "qa:scorecard_list",
                icon="list-check",
                roles=ADMIN,
                order=60,
                section="manage",
            ),
            NavItem(
                "qa_settings",
                "QA settings",
                "qa:settings",
                icon="adjustments",
                roles=ADMIN,
                order=61,
                section="manage",
            ),
        ):
            nav_register(item)
