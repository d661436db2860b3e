"""The kudos behaviour list (recognition's own, admins keep it): a new organization starts with
the defaults; admins add, rename/describe and retire behaviours; the kudos form offers only
active ones and kudos already given keep their name; bad input names the field; other
organizations get 404 and other roles 403."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coachhub.tenancy.context import tenant_context
from recognition import selectors
from recognition.models import Kudos, KudosBehaviour
from recognition.services.behaviours import BehaviourInvalid, behaviour_add
from recognition.services.kudos import KudosInvalid, kudos_give
from recognition.settings import DEFAULT_KUDOS_BEHAVIOURS

pytestmark = pytest.mark.django_db


def url(org, name, **kw):
    return reverse(f"recognition:{name}", kwargs={"org": org.slug, **kw})


def behaviour(org, name):
    with tenant_context(org):
        return KudosBehaviour.objects.get(organization=org, name=name)


def rows(org):
    with tenant_context(org):
        return list(
            KudosBehaviour.objects.filter(organization=org)
            .order_by("position", "name")
            .values_list("name", "description", "is_active")
        )


def test_a_new_organization_starts_with_the_default_behaviours(cast):
    for org in (cast.org_a, cast.org_b):
        with tenant_context(org):
            assert selectors.behaviours(org) == list(DEFAULT_KUDOS_BEHAVIOURS)


def test_admin_adds_renames_and_retires_and_the_kudos_form_follows(cast, client_for):
    org = cast.org_a
    c = client_for(cast.alice)
    page = c.get(url(org, "behaviours"))
    assert page.status_code == 200 and "Went the extra mile" in page.content.decode()

    r = c.post(
        url(org, "behaviours"),
        {"name": "  Calm   under pressure ", "description": "Kept a <b>heated</b> call steady."},
    )
    assert r.status_code == 302
    assert rows(org)[-1] == ("Calm under pressure", "Kept a <b>heated</b> call steady.", True)
    body = c.get(url(org, "behaviours")).content.decode()
    assert "Kept a &lt;b&gt;heated&lt;/b&gt; call steady." in body and "<b>heated</b>" not in body

    # Kudos given for "Empathy" before the rename keep their name.
    with tenant_context(org):
        old = kudos_give(cast.sam, cast.ann, behaviour="Empathy", message="Kind and calm")
    empathy = behaviour(org, "Empathy")
    edit = url(org, "behaviour_edit", kudos_behaviour_id=empathy.public_id)
    assert 'value="Empathy"' in c.get(edit).content.decode()
    r = c.post(edit, {"name": "Empathy & care", "description": "Acknowledged the feeling."})
    assert r.status_code == 302
    with tenant_context(org):
        assert Kudos.objects.get(pk=old.pk).behaviour == "Empathy"

    teamwork = behaviour(org, "Teamwork")
    active = url(org, "behaviour_active", kudos_behaviour_id=teamwork.public_id)
    assert c.post(active, {"active": "0"}).status_code == 302
    assert c.post(active, {"active": "0"}).status_code == 302  # a double submit stays retired
    assert not behaviour(org, "Teamwork").is_active
    body = c.get(url(org, "behaviours")).content.decode()
    assert "Teamwork" in body and "Retired" in body and "Offer again" in body

    # The kudos form offers the active list only, and the service refuses a retired one.
    form = client_for(cast.sam).get(url(org, "kudos_new")).content.decode()
    assert "Empathy &amp; care" in form and "Calm under pressure" in form
    assert ">Teamwork<" not in form and ">Empathy<" not in form
    with tenant_context(org), pytest.raises(KudosInvalid) as exc:
        kudos_give(cast.sam, cast.ann, behaviour="Teamwork", message="Covered the queue")
    assert exc.value.errors == {"behaviour": "Choose one of the listed behaviours."}

    c = client_for(cast.alice)  # the one test client signs in as one person at a time
    assert c.post(active, {"active": "1"}).status_code == 302
    assert behaviour(org, "Teamwork").is_active
    with tenant_context(org):
        kudos_give(cast.sam, cast.ann, behaviour="Teamwork", message="Covered the queue")


@pytest.mark.parametrize(
    "data, field, reason",
    [
        ({"name": ""}, "name", "This field is required."),
        ({"name": "   "}, "name", "This field is required."),
        ({"name": "x" * 81}, "name", "at most 80 characters"),
        ({"name": "empathy"}, "name", "That behaviour is already on the list."),
        ({"name": "Fine", "description": "d" * 201}, "description", "at most 200 characters"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(cast, client_for, data, field, reason):
    org = cast.org_a
    before = rows(org)
    r = client_for(cast.alice).post(url(org, "behaviours"), data)
    body = r.content.decode()
    assert r.status_code == 400
    assert f'id="id_{field}_error"' in body and reason in body
    assert rows(org) == before


def test_renaming_onto_another_behaviour_is_refused(cast, client_for):
    org = cast.org_a
    c = client_for(cast.alice)
    before = rows(org)
    edit = url(org, "behaviour_edit", kudos_behaviour_id=behaviour(org, "Teamwork").public_id)
    r = c.post(edit, {"name": "OWNERSHIP"})
    assert r.status_code == 400 and "That behaviour is already on the list." in r.content.decode()
    assert rows(org) == before
    # Its own name in another case is a rename, not a clash.
    assert c.post(edit, {"name": "TeamWork"}).status_code == 302


def test_an_unknown_active_value_is_a_400_naming_it(cast, client_for):
    org = cast.org_a
    active = url(org, "behaviour_active", kudos_behaviour_id=behaviour(org, "Teamwork").public_id)
    r = client_for(cast.alice).post(active, {"active": "maybe"})
    assert r.status_code == 400 and "active:" in r.content.decode()
    assert behaviour(org, "Teamwork").is_active


def test_the_same_name_in_two_organizations_is_fine_and_stays_apart(cast):
    with tenant_context(cast.org_b):
        behaviour_add(cast.org_b, name="Globex spirit")
    with tenant_context(cast.org_a):
        behaviour_add(cast.org_a, name="Globex spirit")
        with pytest.raises(BehaviourInvalid):
            behaviour_add(cast.org_a, name="globex SPIRIT")
    assert [r for r in rows(cast.org_a) if r[0] == "Globex spirit"]


def test_other_organizations_behaviours_are_404(cast, client_for):
    theirs = behaviour(cast.org_b, "Empathy")
    c = client_for(cast.alice)
    for name, data in (("behaviour_edit", None), ("behaviour_active", {"active": "0"})):
        target = url(cast.org_a, name, kudos_behaviour_id=theirs.public_id)
        r = c.post(target, data) if data else c.get(target)
        assert r.status_code == 404, name
    r = c.post(
        url(cast.org_a, "behaviour_edit", kudos_behaviour_id=theirs.public_id), {"name": "Mine"}
    )
    assert r.status_code == 404
    assert behaviour(cast.org_b, "Empathy").is_active  # untouched
    # Org A's page never lists org B's behaviours.
    with tenant_context(cast.org_b):
        behaviour_add(cast.org_b, name="Globex only")
    page = client_for(cast.alice).get(url(cast.org_a, "behaviours")).content.decode()
    assert "Globex only" not in page and str(theirs.public_id) not in page
    # And org A's slug is no way into org B for org B's supervisor.
    assert client_for(cast.bob).get(url(cast.org_a, "behaviours")).status_code == 404


@pytest.mark.parametrize("who", ["sam", "ann"])
def test_supervisors_and_agents_may_not_edit_the_list(cast, client_for, who):
    org = cast.org_a
    c = client_for(getattr(cast, who))
    teamwork = behaviour(org, "Teamwork")
    assert c.get(url(org, "behaviours")).status_code == 403
    assert c.post(url(org, "behaviours"), {"name": "Sneaky"}).status_code == 403
    edit = url(org, "behaviour_edit", kudos_behaviour_id=teamwork.public_id)
    assert c.get(edit).status_code == 403
    assert c.post(edit, {"name": "Sneaky"}).status_code == 403
    active = url(org, "behaviour_active", kudos_behaviour_id=teamwork.public_id)
    assert c.post(active, {"active": "0"}).status_code == 403
    assert behaviour(org, "Teamwork").is_active and "Sneaky" not in [r[0] for r in rows(org)]


def test_admins_see_it_in_the_manage_menu_others_do_not(cast, client_for):
    link = url(cast.org_a, "behaviours")
    assert link in client_for(cast.alice).get(url(cast.org_a, "wall")).content.decode()
    assert link not in client_for(cast.sam).get(url(cast.org_a, "wall")).content.decode()
