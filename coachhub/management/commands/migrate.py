"""``migrate`` always runs as the owner role, so tables are owned by it and RLS is FORCEd on
a role that is not the runtime role."""

from django.core.management.commands.migrate import Command as MigrateCommand

from coachhub.db import use_owner_role


class Command(MigrateCommand):
    def handle(self, *args, **options):
        use_owner_role(options.get("database") or "default")
        return super().handle(*args, **options)
