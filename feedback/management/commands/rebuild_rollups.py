"""``manage.py rebuild_rollups [--org SLUG]``: recompute daily rollups from raw data."""

from django.core.management.base import BaseCommand, CommandError

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization
from feedback.services.rollups import rollups_rebuild


class Command(BaseCommand):
    help = "Recompute feedback daily rollups from interactions, requests and responses."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organization (slug).")

    def handle(self, *args, org=None, **options):
        orgs = Organization.objects.order_by("slug")
        if org:
            orgs = orgs.filter(slug=org)
            if not orgs.exists():
                raise CommandError(f"No organization with slug {org!r}.")
        for organization in orgs:
            with tenant_context(organization):
                rows = rollups_rebuild(organization)
            self.stdout.write(f"{organization.slug}: {rows} rollup rows")
