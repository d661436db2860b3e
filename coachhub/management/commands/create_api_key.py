"""``manage.py create_api_key <org-slug> [--test] [--name NAME]``: prints the key alone on the
last line of stdout. The key is shown only here (only its hash is stored)."""

from django.core.management.base import BaseCommand, CommandError

from coachhub.accounts import services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import ApiKeyMode, Organization


class Command(BaseCommand):
    help = "Create an API key for an organization and print it (once)."

    def add_arguments(self, parser):
        parser.add_argument("org_slug")
        parser.add_argument(
            "--test", action="store_true", help="A test key (chk_test_…): data is marked test."
        )
        parser.add_argument(
            "--name", default="", help="What the key is for (shown in the admin pages)."
        )

    def handle(self, *args, org_slug, test=False, name="", **options):
        org = Organization.objects.filter(slug=org_slug, is_active=True).first()
        if org is None:
            raise CommandError(f"No active organization with slug {org_slug!r}.")
        mode = ApiKeyMode.TEST if test else ApiKeyMode.LIVE
        with tenant_context(org):
            key, secret = services.api_key_create(
                organization=org, name=name or f"{mode.label} key (command line)", mode=mode
            )
        self.stdout.write(
            f"Created {mode} key {key.prefix}… “{key.name}” for {org.name}. It is not shown again:"
        )
        self.stdout.write(secret)
