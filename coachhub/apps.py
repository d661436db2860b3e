from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "coachhub"
    label = "coachhub"
    verbose_name = "CoachHub core"

    def ready(self):
        from coachhub.tenancy.rls import on_post_migrate

        # Connected with this app as sender so it runs once per migrate, after all apps.
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="coachhub_rls")
        from coachhub.core import (  # noqa: F401  (nav entries, outbox consumers)
            checks,  # noqa: F401  (registers system checks)
            navigation,
            notifications,
        )
