from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self):
        # Registers the outbox consumer that turns recorded webhook deliveries into interactions
        # (web processes record the event, workers run it: both must know the consumer).
        from coachhub.core.navigation import ADMIN, NavItem, nav_register

        from .services import ingest, survey, zendesk  # noqa: F401

        # New requests ring the survey sender on commit (the sweep covers lost doorbells).
        if survey.after_ingest not in ingest.AFTER_INGEST_HOOKS:
            ingest.AFTER_INGEST_HOOKS.append(survey.after_ingest)
        for item in (
            NavItem("insights", "Dashboard", "feedback:insights", icon="chart-line", order=12),
            NavItem(
                "feedback_zendesk",
                "Zendesk",
                "feedback:zendesk_endpoints",
                icon="plug",
                roles=ADMIN,
                order=50,
                section="manage",
            ),
            NavItem(
                "feedback_import",
                "Import CSV",
                "feedback:import_list",
                icon="file-upload",
                roles=ADMIN,
                order=51,
                section="manage",
            ),
            NavItem(
                "feedback_surveys",
                "Surveys",
                "feedback:surveys",
                icon="star",
                order=21,
            ),
            NavItem(
                "feedback_settings",
                "Survey settings",
                "feedback:settings",
                icon="adjustments",
                roles=ADMIN,
                order=49,
                section="manage",
            ),
            NavItem(
                "feedback_activity",
                "Ingestion activity",
                "feedback:activity",
                icon="activity",
                roles=ADMIN,
                order=52,
                section="manage",
            ),
        ):
            nav_register(item)
