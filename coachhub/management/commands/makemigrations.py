from django.core.management.commands.makemigrations import Command as MakeMigrationsCommand

from coachhub.db import use_owner_role


class Command(MakeMigrationsCommand):
    def handle(self, *args, **options):
        use_owner_role()
        return super().handle(*args, **options)
