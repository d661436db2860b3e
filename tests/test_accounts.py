"""Accounts pages: sign-in, the organization switcher, invitations, password reset, and the
admin pages for teams, people and API keys. Each page: works; another organization → 404;
roles without the page → 403; bad input names the field."""

import io
import re

import pytest
from django.core import mail
from django.urls import reverse
from PIL import Image

from coachhub.accounts import services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import ApiKey, Membership, Role, TeamLead, sha256_hex

pytestmark = pytest.mark.django_db


def url(name, org="acme", **kw):
    return reverse(name, kwargs={"org": org, **kw})


def field_errors(response, field):
    form = response.context.get("form")
    for key in ("form", "member_form", "profile_form"):
        candidate = response.context.get(key)
        if candidate is not None and candidate.errors.get(field):
            form = candidate
    assert form is not None and form.errors.get(field), (
        f"no error on {field!r}: {form and form.errors}"
    )
    return form.errors[field]


def png_bytes(size=(40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "#206bc4").save(out, format="PNG")
    return out.getvalue()


# --- sign-in and the organization switcher ---


def test_login_page_renders_and_signs_in_with_email(cast, client):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(
        reverse("login"), {"username": "ALICE@acme.test", "password": "pw-for-tests-only"}
    )
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).request["PATH_INFO"] == "/o/acme/"


def test_login_with_a_wrong_password_says_so(cast, client):
    response = client.post(reverse("login"), {"username": "alice@acme.test", "password": "nope"})
    assert response.status_code == 200
    assert "don't match" in " ".join(response.context["form"].non_field_errors())


def test_person_whose_only_membership_is_deactivated_cannot_sign_in(cast, client):
    with tenant_context(cast.org_a):
        services.membership_deactivate(cast.ann)
    response = client.post(
        reverse("login"), {"username": "ann@acme.test", "password": "pw-for-tests-only"}
    )
    assert response.status_code == 200
    assert "deactivated" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_deactivated_member_cannot_reach_organization_pages(cast, client_for):
    client = client_for(cast.andy)
    assert client.get(url("org_home")).status_code == 200
    with tenant_context(cast.org_a):
        services.membership_deactivate(cast.andy)
    assert client.get(url("org_home")).status_code == 404
    assert client.get(url("my_profile")).status_code == 404


def test_logout_is_a_post(cast, client_for):
    client = client_for(cast.alice)
    assert client.get(reverse("logout")).status_code == 405
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_home_goes_straight_into_the_only_organization(cast, client_for):
    response = client_for(cast.ann).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == "/o/acme/"


def test_home_lists_every_organization_of_a_person_in_several(cast, client_for):
    from tests.factories import make_member

    make_member(cast.org_b, Role.AGENT, team=cast.team_b1, user=cast.alice.user)
    response = client_for(cast.alice).get(reverse("home"))
    assert response.status_code == 200
    assert [m.organization.slug for m in response.context["memberships"]] == ["acme", "globex"]
    # ... and the header's switcher on an organization page offers both.
    page = client_for(cast.alice).get(url("org_home", org="globex")).content.decode()
    assert 'href="/o/acme/"' in page and 'href="/o/globex/"' in page


def test_switcher_never_lists_an_organization_the_person_does_not_belong_to(cast, client_for):
    page = client_for(cast.alice).get(url("org_home")).content.decode()
    assert "Globex" not in page


# --- role-appropriate home and navigation ---


@pytest.mark.parametrize(
    "who, present, absent",
    [
        ("alice", ["People", "API keys", "Settings", "Teams"], []),
        ("sam", ["Teams"], ["People", "API keys"]),
        ("ann", ["My profile"], ["People", "API keys", ">Teams<"]),
    ],
)
def test_navigation_shows_each_role_only_its_pages(cast, client_for, who, present, absent):
    page = client_for(getattr(cast, who)).get(url("org_home")).content.decode()
    nav = page[page.index('aria-label="Main"') : page.index("</nav>")]
    for label in present:
        assert label in nav
    for label in absent:
        assert label not in nav


def test_navigation_registry_lets_an_app_add_an_entry(cast, client_for):
    from coachhub.core import navigation

    item = navigation.NavItem(
        "test-entry", "Reviewer queue", "notification_list", when=lambda m: m.is_reviewer
    )
    navigation.nav_register(item)
    try:
        assert "Reviewer queue" not in client_for(cast.ann).get(url("org_home")).content.decode()
        with tenant_context(cast.org_a):
            Membership.objects.filter(pk=cast.ann.pk).update(is_reviewer=True)
        assert "Reviewer queue" in client_for(cast.ann).get(url("org_home")).content.decode()
    finally:
        navigation._registry.pop("test-entry")


def test_navigation_lights_only_the_most_specific_entry(cast):
    from coachhub.core import navigation

    with tenant_context(cast.org_a):
        member = Membership.objects.select_related("organization").get(pk=cast.alice.pk)

    def lit(path):
        entries = [e for sec in navigation.nav_for(member, path) for e in sec["items"]]
        return [e["key"] for e in entries if e["active"]]

    # An entry at /o/acme/ matched by prefix covers every page, like /recognition/ covers
    # /recognition/behaviours/: only the longer, more specific entry is lit.
    navigation.nav_register(navigation.NavItem("test-broad", "Broad", "org_home"))
    try:
        assert lit(url("notification_list")) == ["notifications"]
        assert lit(url("team_list")) == ["teams"]
        assert lit(url("org_home")) in (["home"], ["test-broad"])
    finally:
        navigation._registry.pop("test-broad")


def test_supervisor_home_shows_only_led_teams(cast, client_for):
    response = client_for(cast.sam).get(url("org_home"))
    page = response.content.decode()
    assert "Team A1" in page and "Team A2" not in page
    assert "Ann" in page and "Zoe" not in page


def test_agent_home_shows_their_own_profile(cast, client_for):
    page = client_for(cast.ann).get(url("org_home")).content.decode()
    assert "Team A1" in page and "Andy" not in page


# --- admin pages: access ---

ADMIN_PAGES = ["people_list", "invite", "api_key_list", "org_settings"]


@pytest.mark.parametrize("name", ADMIN_PAGES)
def test_admin_pages_work_for_an_admin(cast, client_for, name):
    assert client_for(cast.alice).get(url(name)).status_code == 200


@pytest.mark.parametrize("name", ADMIN_PAGES)
@pytest.mark.parametrize("who", ["sam", "ann"])
def test_admin_pages_are_forbidden_to_supervisors_and_agents(cast, client_for, name, who):
    assert client_for(getattr(cast, who)).get(url(name)).status_code == 403


@pytest.mark.parametrize("name", ADMIN_PAGES + ["team_list", "org_home"])
def test_pages_of_another_organization_are_404(cast, client_for, name):
    assert client_for(cast.alice).get(url(name, org="globex")).status_code == 404


def test_admin_post_pages_are_forbidden_to_a_supervisor(cast, client_for):
    client = client_for(cast.sam)
    assert client.post(url("team_create"), {"name": "Sneaky"}).status_code == 403
    assert client.post(url("person_deactivate", member_id=cast.ann.public_id)).status_code == 403
    assert client.post(url("api_key_list"), {"name": "k", "mode": "live"}).status_code == 403
    with tenant_context(cast.org_a):
        assert Membership.objects.get(pk=cast.ann.pk).is_active
        assert not ApiKey.objects.exists()


# --- teams ---


def test_team_list_for_supervisor_shows_only_led_teams(cast, client_for):
    response = client_for(cast.sam).get(url("team_list"))
    assert [t.name for t in response.context["teams"]] == ["Team A1"]
    assert response.context["form"] is None


def test_team_pages_are_forbidden_to_agents(cast, client_for):
    client = client_for(cast.ann)
    assert client.get(url("team_list")).status_code == 403
    assert client.get(url("team_detail", team_id=cast.team_a1.public_id)).status_code == 403


def test_supervisor_cannot_open_a_team_they_do_not_lead(cast, client_for):
    client = client_for(cast.sam)
    assert client.get(url("team_detail", team_id=cast.team_a1.public_id)).status_code == 200
    assert client.get(url("team_detail", team_id=cast.team_a2.public_id)).status_code == 404
    assert client.get(url("team_edit", team_id=cast.team_a1.public_id)).status_code == 403


def test_team_detail_lists_its_agents_and_supervisors(cast, client_for):
    response = client_for(cast.alice).get(url("team_detail", team_id=cast.team_a1.public_id))
    assert {p.user.first_name for p in response.context["agents"]} == {"Ann", "Andy"}
    assert [p.user.first_name for p in response.context["supervisors"]] == ["Sam"]


def test_admin_creates_a_team_with_a_supervisor(cast, client_for):
    response = client_for(cast.alice).post(
        url("team_create"), {"name": "Escalations", "supervisors": [str(cast.sam.public_id)]}
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        lead = TeamLead.objects.get(team__name="Escalations")
        assert lead.membership_id == cast.sam.pk


@pytest.mark.parametrize("name, reason", [("", "required"), ("team a1", "already exists")])
def test_team_create_with_bad_name_names_the_field(cast, client_for, name, reason):
    response = client_for(cast.alice).post(url("team_create"), {"name": name})
    assert response.status_code == 400
    assert reason in " ".join(field_errors(response, "name"))


def test_admin_renames_a_team_and_changes_its_supervisors(cast, client_for):
    response = client_for(cast.alice).post(
        url("team_edit", team_id=cast.team_a2.public_id),
        {"name": "Team A2 (nights)", "supervisors": [str(cast.sam.public_id)]},
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        assert set(
            TeamLead.objects.filter(membership=cast.sam).values_list("team__name", flat=True)
        ) == {
            "Team A1",
            "Team A2 (nights)",
        }


def test_team_edit_refuses_a_supervisor_of_another_organization(cast, client_for):
    response = client_for(cast.alice).post(
        url("team_edit", team_id=cast.team_a2.public_id),
        {"name": "Team A2", "supervisors": [str(cast.bob.public_id)]},
    )
    assert response.status_code == 400
    field_errors(response, "supervisors")


# --- people ---


def test_people_list_shows_role_team_and_status(cast, client_for):
    response = client_for(cast.alice).get(url("people_list"))
    names = {p.user.first_name for p in response.context["people"]}
    assert names == {"Alice", "Sam", "Ann", "Andy", "Zoe"}
    page = response.content.decode()
    assert "Team A2" in page and "Supervisor" in page and "Bea" not in page


def test_people_list_filters_by_search_and_status(cast, client_for):
    client = client_for(cast.alice)
    assert [
        p.user.first_name for p in client.get(url("people_list"), {"q": "zoe"}).context["people"]
    ] == ["Zoe"]
    with tenant_context(cast.org_a):
        services.membership_deactivate(cast.zoe)
    active = client.get(url("people_list")).context["people"]
    inactive = client.get(url("people_list"), {"status": "inactive"}).context["people"]
    assert "Zoe" not in {p.user.first_name for p in active}
    assert [p.user.first_name for p in inactive] == ["Zoe"]


def test_people_list_query_count_does_not_grow_with_people(cast, client_for):
    from tests.conftest import assert_num_queries_at_most
    from tests.factories import make_member

    client = client_for(cast.alice)
    client.get(url("people_list"))
    with assert_num_queries_at_most(30) as few:
        client.get(url("people_list"))
    for _ in range(6):
        make_member(cast.org_a, Role.AGENT, team=cast.team_a1)
    with assert_num_queries_at_most(len(few.captured_queries)):
        client.get(url("people_list"))


def test_admin_changes_role_team_and_capabilities(cast, client_for):
    response = client_for(cast.alice).post(
        url("person_edit", member_id=cast.zoe.public_id),
        {
            "role": "supervisor",
            "team": "",
            "teams_led": [str(cast.team_a2.public_id)],
            "is_reviewer": "on",
        },
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        zoe = Membership.objects.get(pk=cast.zoe.pk)
        assert zoe.role == "supervisor" and zoe.is_reviewer and not zoe.is_recovery
        assert list(
            TeamLead.objects.filter(membership=zoe).values_list("team__name", flat=True)
        ) == ["Team A2"]


def test_agent_without_team_names_the_team_field(cast, client_for):
    response = client_for(cast.alice).post(
        url("person_edit", member_id=cast.zoe.public_id), {"role": "agent", "team": ""}
    )
    assert response.status_code == 400
    field_errors(response, "team")


def test_admin_cannot_remove_their_own_admin_role(cast, client_for):
    response = client_for(cast.alice).post(
        url("person_edit", member_id=cast.alice.public_id),
        {"role": "agent", "team": str(cast.team_a1.public_id)},
    )
    assert response.status_code == 400
    field_errors(response, "role")


def test_admin_edits_an_agent_profile_with_photo(cast, client_for, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    from django.core.files.uploadedfile import SimpleUploadedFile

    photo = SimpleUploadedFile("me.png", png_bytes((900, 600)), content_type="image/png")
    response = client_for(cast.alice).post(
        url("person_profile", member_id=cast.ann.public_id),
        {
            "display_name": "Ann A.",
            "bio": "Here to help.",
            "employee_id": "A-100",
            "recognition_preference": "private",
            "photo": photo,
        },
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        profile = Membership.objects.get(pk=cast.ann.pk).profile
        assert (profile.display_name, profile.bio, profile.employee_id) == (
            "Ann A.",
            "Here to help.",
            "A-100",
        )
        assert profile.recognition_preference == "private"
        with Image.open(profile.photo.path) as img:
            assert img.format == "PNG" and max(img.size) == 512  # re-encoded and scaled down


@pytest.mark.parametrize(
    "data, field",
    [
        ({"bio": "x" * 141}, "bio"),
        ({"employee_id": "A-2"}, "employee_id"),  # Andy's
        ({"recognition_preference": "loud"}, "recognition_preference"),
    ],
)
def test_profile_with_bad_input_names_the_field(cast, client_for, data, field):
    base = {
        "display_name": "Ann",
        "bio": "",
        "employee_id": "A-1",
        "recognition_preference": "public",
    }
    response = client_for(cast.alice).post(
        url("person_profile", member_id=cast.ann.public_id), {**base, **data}
    )
    assert response.status_code == 400
    field_errors(response, field)


def test_profile_refuses_a_file_that_is_not_an_image(cast, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("x.png", b"<script>alert(1)</script>", content_type="image/png")
    response = client_for(cast.alice).post(
        url("person_profile", member_id=cast.ann.public_id),
        {"display_name": "Ann", "recognition_preference": "public", "photo": bad},
    )
    assert response.status_code == 400
    field_errors(response, "photo")


def test_agent_edits_own_profile_but_not_employee_id(cast, client_for):
    client = client_for(cast.ann)
    response = client.post(
        url("my_profile"),
        {
            "display_name": "Annie",
            "bio": "Hi!",
            "employee_id": "HACK",
            "recognition_preference": "public",
        },
    )
    assert response.status_code == 302
    with tenant_context(cast.org_a):
        profile = Membership.objects.get(pk=cast.ann.pk).profile
        assert (profile.display_name, profile.employee_id) == ("Annie", "A-1")


def test_agent_cannot_open_another_persons_admin_page(cast, client_for):
    assert (
        client_for(cast.ann).get(url("person_detail", member_id=cast.andy.public_id)).status_code
        == 403
    )


def test_admin_deactivates_and_reactivates_a_person(cast, client_for):
    client = client_for(cast.alice)
    assert client.post(url("person_deactivate", member_id=cast.andy.public_id)).status_code == 302
    with tenant_context(cast.org_a):
        andy = Membership.objects.get(pk=cast.andy.pk)
        assert not andy.is_active and andy.deactivated_at is not None
    assert client.post(url("person_reactivate", member_id=cast.andy.public_id)).status_code == 302
    with tenant_context(cast.org_a):
        assert Membership.objects.get(pk=cast.andy.pk).is_active


def test_admin_cannot_deactivate_themselves(cast, client_for):
    client_for(cast.alice).post(url("person_deactivate", member_id=cast.alice.public_id))
    with tenant_context(cast.org_a):
        assert Membership.objects.get(pk=cast.alice.pk).is_active


def test_person_of_another_organization_is_404(cast, client_for):
    client = client_for(cast.alice)
    assert client.get(url("person_detail", member_id=cast.bea.public_id)).status_code == 404
    assert client.post(url("person_deactivate", member_id=cast.bea.public_id)).status_code == 404
    with tenant_context(cast.org_b):
        assert Membership.objects.get(pk=cast.bea.pk).is_active


# --- invitations ---


def invite_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/invite/[^/\s]+/)", message.body).group(1)


def test_invitation_end_to_end(cast, client_for, client, django_capture_on_commit_callbacks):
    admin = client_for(cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            url("invite"),
            {"email": "New.Hire@Acme.test", "role": "agent", "team": str(cast.team_a2.public_id)},
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.hire@acme.test"]
    assert "Acme Support" in mail.outbox[0].subject
    link = invite_link(mail.outbox[0])
    assert "new.hire@acme.test" in admin.get(url("people_list")).content.decode()  # pending
    admin.post(reverse("logout"))

    assert client.get(link).status_code == 200
    response = client.post(
        link,
        {
            "first_name": "Nia",
            "last_name": "Hire",
            "password1": "a-long-new-password-42",
            "password2": "a-long-new-password-42",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/o/acme/"
    assert client.get("/o/acme/").status_code == 200  # signed in
    with tenant_context(cast.org_a):
        member = Membership.objects.select_related("user", "team").get(
            user__email="new.hire@acme.test"
        )
        assert (member.role, member.team.name, member.user.first_name) == (
            "agent",
            "Team A2",
            "Nia",
        )
    assert member.user.check_password("a-long-new-password-42")
    assert client.get(link).status_code == 404  # used: the lookup row is gone


def test_invitation_with_bad_input_names_the_field(cast, client_for):
    client = client_for(cast.alice)
    r = client.post(
        url("invite"),
        {"email": "not-an-email", "role": "agent", "team": str(cast.team_a1.public_id)},
    )
    assert r.status_code == 400
    field_errors(r, "email")
    r = client.post(
        url("invite"),
        {"email": "ann@acme.test", "role": "agent", "team": str(cast.team_a1.public_id)},
    )
    assert "already a member" in " ".join(field_errors(r, "email"))
    r = client.post(
        url("invite"),
        {"email": "x@acme.test", "role": "agent", "team": str(cast.team_b1.public_id)},
    )
    field_errors(r, "team")  # another organization's team is not a choice


def test_invitation_accept_form_names_the_password_field(cast):
    from django.test import Client

    with tenant_context(cast.org_a):
        _inv, token = services.invitation_create(
            organization=cast.org_a,
            email="p@acme.test",
            role="agent",
            team=cast.team_a1,
            invited_by=None,
        )
    link = reverse("invitation_accept", kwargs={"token": token})
    r = Client().post(
        link, {"first_name": "P", "last_name": "Q", "password1": "short", "password2": "short"}
    )
    assert r.status_code == 200
    assert r.context["form"].errors["password1"]
    r = Client().post(
        link,
        {
            "first_name": "P",
            "last_name": "Q",
            "password1": "a-long-new-password-42",
            "password2": "different-password-42",
        },
    )
    assert r.context["form"].errors["password2"]


def test_invitation_never_resets_an_existing_accounts_password(cast, client):
    with tenant_context(cast.org_b):
        _inv, token = services.invitation_create(
            organization=cast.org_b,
            email="alice@acme.test",
            role="agent",
            team=cast.team_b1,
            invited_by=None,
        )
    link = reverse("invitation_accept", kwargs={"token": token})
    r = client.post(
        link,
        {
            "first_name": "X",
            "last_name": "Y",
            "password1": "attacker-pass-123456",
            "password2": "attacker-pass-123456",
        },
    )
    assert r.status_code == 200 and "Sign in to accept" in r.content.decode()
    cast.alice.user.refresh_from_db()
    assert cast.alice.user.check_password("pw-for-tests-only")
    client.force_login(cast.alice.user)
    assert client.post(link).status_code == 302
    assert client.get("/o/globex/").status_code == 200


def test_unknown_invitation_token_is_404_and_expired_is_410(cast, client):
    from datetime import timedelta

    from django.utils import timezone

    from coachhub.tenancy.models import Invitation

    assert client.get(reverse("invitation_accept", kwargs={"token": "nope"})).status_code == 404
    with tenant_context(cast.org_a):
        inv, token = services.invitation_create(
            organization=cast.org_a,
            email="late@acme.test",
            role="agent",
            team=cast.team_a1,
            invited_by=None,
        )
        Invitation.objects.filter(pk=inv.pk).update(
            expires_at=timezone.now() - timedelta(minutes=1)
        )
    assert client.get(reverse("invitation_accept", kwargs={"token": token})).status_code == 410


def test_admin_resends_and_cancels_an_invitation(
    cast, client_for, client, django_capture_on_commit_callbacks
):
    with tenant_context(cast.org_a):
        inv, old_token = services.invitation_create(
            organization=cast.org_a,
            email="r@acme.test",
            role="agent",
            team=cast.team_a1,
            invited_by=None,
        )
    admin = client_for(cast.alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.post(url("invitation_resend", invitation_id=inv.public_id)).status_code == 302
    assert len(mail.outbox) == 1
    new_link = invite_link(mail.outbox[0])
    admin.post(reverse("logout"))
    assert client.get(reverse("invitation_accept", kwargs={"token": old_token})).status_code == 404
    assert client.get(new_link).status_code == 200
    admin = client_for(cast.alice)
    assert admin.post(url("invitation_cancel", invitation_id=inv.public_id)).status_code == 302
    admin.post(reverse("logout"))
    assert client.get(new_link).status_code == 404


# --- password reset ---


def test_password_reset_by_email(cast, client, settings):
    settings.SITE_URL = "https://coachhub.example"
    response = client.post(reverse("password_reset"), {"email": "alice@acme.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@acme.test"]
    body = mail.outbox[0].body
    link = re.search(r"https://coachhub\.example(/accounts/password/reset/\S+/)", body).group(1)
    assert mail.outbox[0].alternatives  # an HTML version too
    response = client.get(link, follow=True)
    assert response.status_code == 200 and response.context["validlink"]
    response = client.post(
        response.request["PATH_INFO"],
        {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"},
    )
    assert response.status_code == 302
    cast.alice.user.refresh_from_db()
    assert cast.alice.user.check_password("brand-new-secret-77")


def test_password_reset_for_an_unknown_address_sends_nothing_and_looks_the_same(cast, client):
    response = client.post(reverse("password_reset"), {"email": "nobody@acme.test"})
    assert response.status_code == 302 and mail.outbox == []


def test_password_reset_names_the_email_field(cast, client):
    response = client.post(reverse("password_reset"), {"email": "nope"})
    assert response.status_code == 200 and response.context["form"].errors["email"]


# --- API keys ---


def test_api_key_is_shown_once_and_stored_hashed(cast, client_for):
    client = client_for(cast.alice)
    response = client.post(url("api_key_list"), {"name": "Zendesk production", "mode": "live"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("chk_live_") and secret in response.content.decode()
    assert (
        response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    )
    with tenant_context(cast.org_a):
        key = ApiKey.objects.get(organization=cast.org_a)
    assert key.key_hash == sha256_hex(secret) and secret not in (key.key_hash, key.prefix)
    assert secret.startswith(key.prefix)
    listing = client.get(url("api_key_list")).content.decode()
    assert key.prefix in listing and secret not in listing


def test_api_key_create_names_the_field(cast, client_for):
    response = client_for(cast.alice).post(url("api_key_list"), {"name": "", "mode": "gold"})
    assert response.status_code == 400
    field_errors(response, "name")
    field_errors(response, "mode")


def test_revoked_api_key_gets_401(cast, client_for):
    from django.test import Client

    with tenant_context(cast.org_a):
        key, secret = services.api_key_create(organization=cast.org_a, name="Temp")
    api = "/api/v1/interactions/"
    assert Client().get(api, HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    client = client_for(cast.alice)
    assert (
        client.get(url("api_key_revoke", key_id=key.public_id)).status_code == 200
    )  # confirm page
    assert client.post(url("api_key_revoke", key_id=key.public_id)).status_code == 302
    assert "Revoked" in client.get(url("api_key_list")).content.decode()
    # Last: DRF's error handler marks the (test) transaction for rollback on a 401.
    response = Client().get(api, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401
    assert response.json()["errors"][0]["reason"]


def test_api_key_of_another_organization_cannot_be_revoked(cast, client_for):
    with tenant_context(cast.org_b):
        key, _ = services.api_key_create(organization=cast.org_b, name="Globex")
    assert (
        client_for(cast.alice).post(url("api_key_revoke", key_id=key.public_id)).status_code == 404
    )
    with tenant_context(cast.org_b):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None


# --- settings ---


def test_admin_changes_organization_settings(cast, client_for):
    response = client_for(cast.alice).post(
        url("org_settings"),
        {
            "name": "Acme Care",
            "time_zone": "Europe/Madrid",
            "language": "es",
            "brand_color": "#112233",
        },
    )
    assert response.status_code == 302
    cast.org_a.refresh_from_db()
    assert (cast.org_a.name, cast.org_a.time_zone, cast.org_a.language) == (
        "Acme Care",
        "Europe/Madrid",
        "es",
    )


def test_settings_with_bad_input_name_the_field(cast, client_for):
    response = client_for(cast.alice).post(
        url("org_settings"),
        {"name": "Acme", "time_zone": "Mars/Base", "language": "en", "brand_color": "blue"},
    )
    assert response.status_code == 400
    field_errors(response, "time_zone")
    field_errors(response, "brand_color")


# --- platform admin ---


def test_platform_admin_shows_an_organizations_people_read_only(cast, client):
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser(
        "op@coachhub.test", "op@coachhub.test", "pw"
    )
    client.force_login(operator)
    assert client.get("/platform/coachhub/organization/").status_code == 200
    page = client.get(f"/platform/coachhub/organization/{cast.org_a.pk}/change/").content.decode()
    assert "alice@acme.test" in page and "Team A1" in page and "bea@globex.test" not in page
    assert client.get(f"/platform/coachhub/organization/{cast.org_a.pk}/delete/").status_code == 403


def test_platform_admin_creates_an_organization_through_the_service(
    cast, client, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    from coachhub.accounts.services import ORGANIZATION_DEFAULTS
    from coachhub.tenancy.models import Organization

    ran = []
    ORGANIZATION_DEFAULTS.append(ran.append)
    try:
        operator = get_user_model().objects.create_superuser(
            "op@coachhub.test", "op@coachhub.test", "pw"
        )
        client.force_login(operator)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/platform/coachhub/organization/add/",
                {
                    "slug": "initech",
                    "name": "Initech",
                    "time_zone": "Europe/Madrid",
                    "language": "en",
                    "first_admin_email": "boss@initech.test",
                },
            )
    finally:
        ORGANIZATION_DEFAULTS.remove(ran.append)
    assert response.status_code == 302, response.context["adminform"].form.errors
    org = Organization.objects.get(slug="initech")
    assert ran == [org]
    assert mail.outbox and mail.outbox[0].to == ["boss@initech.test"]


# --- layout ----------------------------------------------------------------------------------


def test_layout_loads_local_assets_and_sends_csrf_with_htmx(cast, client_for):
    page = client_for(cast.alice).get(url("org_home")).content.decode()
    assert "/static/vendor/tabler/css/tabler.min.css" in page
    assert "/static/vendor/htmx/htmx.min.js" in page
    assert 'hx-headers=\'{"X-CSRFToken"' in page
    assert 'href="#main"' in page and 'id="main"' in page  # skip link and landmark
    assert "cdn" not in page.lower()


@pytest.mark.parametrize("who", ["alice", "sam", "ann"])
def test_org_home_query_count_is_bounded(cast, client_for, who):
    from tests.conftest import assert_num_queries_at_most

    client = client_for(getattr(cast, who))
    client.get(url("org_home"))
    with assert_num_queries_at_most(30):
        assert client.get(url("org_home")).status_code == 200
