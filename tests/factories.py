"""Factories for the cast and for objects of other organizations (cross-tenant tests).

Tenant objects are created inside their organization's context (RLS WITH CHECK refuses a row
of another organization), so factories that need it enter ``tenant_context`` themselves.
"""

import itertools

import factory
from django.contrib.auth import get_user_model

from coachhub.accounts import services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization, Role, Team

User = get_user_model()
_seq = itertools.count(1)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.LazyAttribute(lambda o: o.username)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password("pw-for-tests-only")


def make_org(slug: str | None = None, name: str | None = None, **kw) -> Organization:
    n = next(_seq)
    slug = slug or f"org{n}"
    return services.organization_create(slug=slug, name=name or slug.title(), **kw)


def make_team(org: Organization, name: str | None = None) -> Team:
    with tenant_context(org):
        return services.team_create(organization=org, name=name or f"Team {next(_seq)}")


def make_member(org, role=Role.AGENT, *, team=None, teams_led=(), user=None, **kw):
    user = user or UserFactory()
    with tenant_context(org):
        return services.membership_create(
            organization=org, user=user, role=role, team=team, teams_led=teams_led, **kw
        )
