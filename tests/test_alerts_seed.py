"""seed_demo's coaching step: default rules, open alerts, coaching notes; idempotent; the
demo pages work on the seeded data."""

import io

import pytest
from django.core.management import call_command

from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import Organization
from coaching.models import Alert, AlertRule, CoachingNote, FollowUp


def _counts():
    out = {}
    for org in Organization.objects.filter(slug__in=["northwind", "tailspin"]):
        with tenant_context(org):
            out[org.slug] = (
                AlertRule.objects.filter(organization=org, is_default=True).count(),
                Alert.objects.filter(organization=org, state="open").count(),
                Alert.objects.filter(organization=org).count(),
                CoachingNote.objects.filter(organization=org).count(),
                FollowUp.objects.filter(organization=org).count(),
            )
    return out


@pytest.mark.django_db
def test_seed_demo_has_default_rules_open_alerts_and_coaching_notes(settings, tmp_path, client):
    settings.MEDIA_ROOT = tmp_path
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "coaching alerts and notes" in out.getvalue()
    first = _counts()
    for slug, (rules, open_alerts, alerts, notes, follow_ups) in first.items():
        assert rules == 2, slug
        assert open_alerts >= 1 and alerts >= open_alerts, slug
        assert notes >= 4 and follow_ups >= 1, slug
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == first
    assert client.login(username="marcus@northwind.example", password=settings.DEMO_PASSWORD)
    for path in (
        "/o/northwind/coaching/alerts/",
        "/o/northwind/coaching/notes/",
        "/o/northwind/feedback/stream/",
    ):
        assert client.get(path).status_code == 200, path
    assert client.login(username="ana@northwind.example", password=settings.DEMO_PASSWORD)
    for path in ("/o/northwind/feedback/mine/", "/o/northwind/coaching/notes/"):
        assert client.get(path).status_code == 200, path
