from django.apps import AppConfig


class RecognitionConfig(AppConfig):
    name = "recognition"

    def ready(self):
        from coachhub.accounts.services import ORGANIZATION_DEFAULTS
        from coachhub.core.navigation import ADMIN, ALL_ROLES, NavItem, nav_register

        from .selectors import agents_may_see_leaderboards
        from .services.behaviours import recognition_defaults

        if recognition_defaults not in ORGANIZATION_DEFAULTS:
            ORGANIZATION_DEFAULTS.append(recognition_defaults)

        for item in (
            NavItem(
                "recognition_wall",
                "Team wall",
                "recognition:wall",
                icon="heart-handshake",
                order=50,
            ),
            NavItem(
                "recognition_mine",
                "My recognition",
                "recognition:mine",
                icon="award",
                order=51,
                section="account",
            ),
            NavItem(
                "recognition_leaderboard",
                "Leaderboards",
                "recognition:leaderboard",
                icon="trophy",
                roles=ALL_ROLES,
                order=52,
                when=lambda m: not m.is_agent or agents_may_see_leaderboards(m.organization),
            ),
            NavItem("recognition_rewards", "Rewards", "recognition:rewards", icon="gift", order=53),
            NavItem(
                "recognition_catalogue",
                "Reward catalogue",
                "recognition:catalogue",
                icon="gift-card",
                roles=ADMIN,
                order=70,
                section="manage",
            ),
            NavItem(
                "recognition_behaviours",
                "Kudos behaviours",
                "recognition:behaviours",
                icon="heart-plus",
                roles=ADMIN,
                order=70,
                section="manage",
            ),
            NavItem(
                "recognition_tv",
                "TV screens",
                "recognition:tv_links",
                icon="device-tv",
                roles=ADMIN,
                order=71,
                section="manage",
            ),
            NavItem(
                "recognition_settings",
                "Recognition settings",
                "recognition:settings",
                icon="adjustments-star",
                roles=ADMIN,
                order=72,
                section="manage",
            ),
        ):
            nav_register(item)
