"""seed_demo is idempotent and prints the logins; create_api_key prints the key last."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from coachhub.core.seed import SEED_STEPS, seed_step
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import (
    AgentProfile,
    ApiKey,
    GlobalLookup,
    Membership,
    Organization,
    Team,
    sha256_hex,
)

User = get_user_model()


def _counts():
    counts = {
        "orgs": Organization.objects.filter(slug__in=["northwind", "tailspin"]).count(),
        "users": User.objects.count(),
    }
    for org in Organization.objects.filter(slug__in=["northwind", "tailspin"]):
        with tenant_context(org):
            counts[org.slug] = (
                Team.objects.filter(organization=org).count(),
                Membership.objects.filter(organization=org).count(),
                AgentProfile.objects.filter(organization=org).exclude(photo="").count(),
            )
    return counts


def _seed(*args) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_two_organizations_and_is_idempotent(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    output = _seed("--people-only")
    first = _counts()
    assert first["orgs"] == 2
    teams, members, photos = first["northwind"]
    assert teams == 3 and members == 12 and photos == 12  # admin, 2 supervisors, 8 agents, Jordan
    assert first["tailspin"][0] == 2

    _seed("--people-only")
    assert _counts() == first
    assert "olivia@northwind.example" in output and "lucia@tailspin.example" in output
    assert settings.DEMO_PASSWORD in output


@pytest.mark.django_db
def test_seed_demo_logins_work_with_the_demo_password(settings, tmp_path, client):
    settings.MEDIA_ROOT = tmp_path
    _seed("--people-only")
    for email, slug in [
        ("olivia@northwind.example", "northwind"),
        ("priya@northwind.example", "northwind"),
        ("ana@northwind.example", "northwind"),
        ("carmen@tailspin.example", "tailspin"),
    ]:
        assert client.login(username=email, password=settings.DEMO_PASSWORD), email
        assert client.get(f"/o/{slug}/").status_code == 200
        client.logout()


@pytest.mark.django_db
def test_seed_demo_puts_one_person_in_both_organizations(settings, tmp_path, client):
    settings.MEDIA_ROOT = tmp_path
    _seed("--people-only")
    client.login(username="jordan@coachhub.example", password=settings.DEMO_PASSWORD)
    page = client.get("/").content.decode()
    assert "Northwind Support" in page and "Tailspin Care" in page


@pytest.mark.django_db
def test_seed_demo_runs_registered_app_steps_inside_each_organization(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    seen = []

    @seed_step("test step", order=999)
    def record(demo):
        seen.append((demo.organization.slug, len(demo.agents), Team.objects.count()))

    try:
        _seed()
    finally:
        SEED_STEPS[:] = [s for s in SEED_STEPS if s.name != "test step"]
    assert seen == [("northwind", 8, 3), ("tailspin", 8, 2)]


@pytest.mark.django_db
@pytest.mark.parametrize("args, mode", [([], "live"), (["--test"], "test")])
def test_create_api_key_prints_the_key_alone_on_the_last_line(cast, args, mode):
    out = io.StringIO()
    call_command("create_api_key", "acme", *args, "--name", "Zendesk", stdout=out)
    last = out.getvalue().rstrip("\n").splitlines()[-1]
    assert last.startswith(f"chk_{mode}_") and " " not in last and len(last) > 40
    with tenant_context(cast.org_a):
        key = ApiKey.objects.get(organization=cast.org_a, name="Zendesk")
        assert key.key_hash == sha256_hex(last) and last not in (key.prefix, key.key_hash)
    assert GlobalLookup.resolve("api_key", last) == (cast.org_a.pk, key.pk)


@pytest.mark.django_db
def test_create_api_key_for_an_unknown_organization_fails(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="nowhere"):
        call_command("create_api_key", "nowhere")
