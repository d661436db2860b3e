"""seed_demo's service-recovery step (cases in every state; idempotent) and the insights pages on
the seeded data: dashboards, the recovery queue and dashboard, the digest preview."""

import io

import pytest
from django.core.management import call_command

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization
from coaching.models_recovery import RecoveryCase


def _states():
    out = {}
    for org in Organization.objects.filter(slug__in=["northwind", "tailspin"]):
        with tenant_context(org):
            out[org.slug] = sorted(
                RecoveryCase.objects.filter(organization=org).values_list("state", flat=True)
            )
    return out


@pytest.mark.django_db
def test_seed_demo_has_recovery_cases_in_every_state_and_pages_work(settings, tmp_path, client):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "service recovery cases" in out.getvalue()
    first = _states()
    for slug, states in first.items():
        assert {"new", "claimed", "contacted", "survey_sent", "recovered"} <= set(states), slug
        assert {"not_recovered", "closed"} <= set(states), slug
    call_command("seed_demo", stdout=io.StringIO())
    assert _states() == first
    assert client.login(username="marcus@northwind.example", password=settings.DEMO_PASSWORD)
    for path in (
        "/o/northwind/feedback/insights/",
        "/o/northwind/feedback/insights/?period=90",
        "/o/northwind/coaching/digest/",
        "/o/northwind/coaching/recovery/",
        "/o/northwind/coaching/recovery/dashboard/",
    ):
        r = client.get(path)
        assert r.status_code == 200, path
    assert "Open alerts" in client.get("/o/northwind/coaching/digest/").content.decode()
    assert client.login(username="ana@northwind.example", password=settings.DEMO_PASSWORD)
    assert client.get("/o/northwind/feedback/insights/", follow=True).status_code == 200
