"""The kudos behaviour list: what a kudos can be given for. Admins add, rename/describe and retire
behaviours; a retired one is no longer offered, and kudos already given keep the name they were
given with (``Kudos.behaviour`` is text), so nothing here rewrites history."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max

from ..models import KudosBehaviour
from ..settings import DEFAULT_KUDOS_BEHAVIOURS

MAX_NAME = 80
MAX_DESCRIPTION = 200


class BehaviourInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _clean(organization, name: str, description: str, *, exclude_pk=None) -> tuple[str, str]:
    errors: dict[str, str] = {}
    name = " ".join((name or "").split())
    description = " ".join((description or "").split())
    if not name:
        errors["name"] = "Name the behaviour."
    elif len(name) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters."
    else:
        same = KudosBehaviour.objects.filter(organization_id=organization.pk, name__iexact=name)
        if exclude_pk is not None:
            same = same.exclude(pk=exclude_pk)
        if same.exists():
            errors["name"] = "That behaviour is already on the list."
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = f"At most {MAX_DESCRIPTION} characters."
    if errors:
        raise BehaviourInvalid(errors)
    return name, description


def behaviour_add(organization, *, name: str, description: str = "") -> KudosBehaviour:
    name, description = _clean(organization, name, description)
    last = KudosBehaviour.objects.filter(organization_id=organization.pk).aggregate(
        n=Max("position")
    )["n"]
    try:
        with transaction.atomic():
            return KudosBehaviour.objects.create(
                organization_id=organization.pk,
                name=name,
                description=description,
                position=0 if last is None else last + 1,
            )
    except IntegrityError as exc:  # the same name added at the same moment
        raise BehaviourInvalid({"name": "That behaviour is already on the list."}) from exc


def behaviour_edit(behaviour: KudosBehaviour, *, name: str, description: str = "") -> None:
    name, description = _clean(behaviour.organization, name, description, exclude_pk=behaviour.pk)
    try:
        with transaction.atomic():
            KudosBehaviour.objects.filter(
                organization_id=behaviour.organization_id, pk=behaviour.pk
            ).update(name=name, description=description)
    except IntegrityError as exc:
        raise BehaviourInvalid({"name": "That behaviour is already on the list."}) from exc
    behaviour.name, behaviour.description = name, description


def behaviour_set_active(behaviour: KudosBehaviour, active: bool) -> None:
    KudosBehaviour.objects.filter(
        organization_id=behaviour.organization_id, pk=behaviour.pk
    ).update(is_active=active)
    behaviour.is_active = active


def recognition_defaults(organization) -> None:
    """``ORGANIZATION_DEFAULTS`` hook: a new organization starts with the default list."""
    for i, name in enumerate(DEFAULT_KUDOS_BEHAVIOURS):
        KudosBehaviour.objects.get_or_create(
            organization=organization, name=name, defaults={"position": i}
        )
