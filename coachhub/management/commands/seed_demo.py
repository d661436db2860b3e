"""``manage.py seed_demo``: two demo organizations with people, then every app's demo data.

Idempotent: people are found by e-mail, teams by name, and each registered step (see
``coachhub/core/seed.py``) must itself be safe to run again. Prints every login.
"""

from django.core.management.base import BaseCommand
from django.utils.module_loading import autodiscover_modules

from coachhub.accounts import services
from coachhub.core.seed import (
    DEMO_ORGS,
    SEED_STEPS,
    SHARED_USER,
    demo_password,
    seed_people,
)
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization


class Command(BaseCommand):
    help = "Create (or refresh) the demo organizations northwind and tailspin and print the logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--people-only",
            action="store_true",
            help="Only organizations, teams and people (no history).",
        )

    def handle(self, *args, people_only=False, **options):
        autodiscover_modules("seed")  # each app's seed.py registers its steps
        logins = []
        for spec in DEMO_ORGS:
            org = Organization.objects.filter(slug=spec["slug"]).first()
            if org is None:
                # Through the service so every ORGANIZATION_DEFAULTS hook runs, as for a customer.
                org = services.organization_create(
                    slug=spec["slug"],
                    name=spec["name"],
                    time_zone=spec["time_zone"],
                    language=spec["language"],
                )
                self.stdout.write(f"created organization {org.slug}")
            with tenant_context(org):
                demo = seed_people(org, spec, log=self.stdout.write)
            logins.append((demo.admin.user.email, "admin", org.slug))
            logins += [(m.user.email, "supervisor", org.slug) for m in demo.supervisors]
            logins += [(m.user.email, "agent", org.slug) for m in demo.agents]
            if people_only:
                continue
            for step in SEED_STEPS:
                with tenant_context(org):
                    step.run(demo)
                self.stdout.write(f"  {org.slug}: {step.name}")
        shared_roles = ", ".join(f"{r[0]} in {slug}" for slug, r in SHARED_USER["roles"].items())
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password: {demo_password()})")
        for email, role, slug in logins:
            if email == SHARED_USER["email"]:
                continue
            self.stdout.write(f"  {email:<28} {role:<11} {slug}")
        self.stdout.write(f"  {SHARED_USER['email']:<28} {shared_roles} (organization switcher)")
