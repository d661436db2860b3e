"""Scorecard builder writes: scorecards, their versions, sections and criteria.

Only a draft version can change. Publishing validates the draft (≥ 1 criterion with weight > 0,
every critical criterion has a failing value on its scale), freezes it and supersedes the
previous published version; editing a published scorecard copies it into a new draft.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coachhub.tenancy.models import Membership, Team

from ..models import (
    SCALE_POINTS,
    Criterion,
    Scale,
    Scorecard,
    ScorecardTeam,
    ScorecardVersion,
    Section,
    VersionStatus,
)


class NotEditable(ValidationError):
    def __init__(self):
        super().__init__("Only a draft version can change; edit the scorecard to make a new draft.")


def _require_draft(version: ScorecardVersion) -> None:
    # Re-read under a row lock: publishing concurrently must not let an edit slip in after.
    status = (
        ScorecardVersion.objects.select_for_update()
        .filter(organization_id=version.organization_id, pk=version.pk)
        .values_list("status", flat=True)
        .first()
    )
    if status != VersionStatus.DRAFT:
        raise NotEditable()


@transaction.atomic
def scorecard_create(
    *, organization, name: str, description: str = "", created_by=None
) -> Scorecard:
    card = Scorecard.objects.create(
        organization=organization, name=name, description=description, created_by=created_by
    )
    version = ScorecardVersion.objects.create(
        organization=organization, scorecard=card, number=1, created_by=created_by
    )
    Section.objects.create(organization=organization, version=version, title="General", position=0)
    return card


@transaction.atomic
def scorecard_update(
    card: Scorecard, *, name: str, description: str, channels: list[str], teams: list[Team]
) -> None:
    """Name and applicability (teams, channels): not part of the scored content, so no new
    version is needed."""
    card.name, card.description, card.channels = name, description, sorted(set(channels))
    card.save(update_fields=["name", "description", "channels"])
    ScorecardTeam.objects.filter(organization_id=card.organization_id, scorecard=card).exclude(
        team__in=teams
    ).delete()
    for team in teams:
        ScorecardTeam.objects.get_or_create(
            organization_id=card.organization_id, scorecard=card, team=team
        )


@transaction.atomic
def scorecard_archive(card: Scorecard) -> None:
    """Archiving hides the card from new reviews; every stored review and score stays."""
    Scorecard.objects.filter(organization_id=card.organization_id, pk=card.pk).update(
        archived_at=timezone.now()
    )


@transaction.atomic
def scorecard_unarchive(card: Scorecard) -> None:
    Scorecard.objects.filter(organization_id=card.organization_id, pk=card.pk).update(
        archived_at=None
    )


def draft_of(card: Scorecard) -> ScorecardVersion | None:
    return card.versions.filter(status=VersionStatus.DRAFT).first()


def published_of(card: Scorecard) -> ScorecardVersion | None:
    return card.versions.filter(status=VersionStatus.PUBLISHED).first()


@transaction.atomic
def draft_ensure(card: Scorecard, *, member: Membership | None = None) -> ScorecardVersion:
    """The card's draft; when there is none, a new draft copied from the latest version."""
    Scorecard.objects.select_for_update().filter(
        organization_id=card.organization_id, pk=card.pk
    ).first()
    draft = draft_of(card)
    if draft is not None:
        return draft
    source = card.versions.order_by("-number").first()
    return _version_clone(source, member)


def _version_clone(source: ScorecardVersion, member) -> ScorecardVersion:
    org_id = source.organization_id
    number = (
        ScorecardVersion.objects.filter(
            organization_id=org_id, scorecard_id=source.scorecard_id
        ).aggregate(n=Max("number"))["n"]
        or 0
    ) + 1
    new = ScorecardVersion.objects.create(
        organization_id=org_id, scorecard_id=source.scorecard_id, number=number, created_by=member
    )
    for section in source.sections.all():
        copy = Section.objects.create(
            organization_id=org_id, version=new, title=section.title, position=section.position
        )
        Criterion.objects.bulk_create(
            [
                Criterion(
                    organization_id=org_id,
                    section=copy,
                    version=new,
                    lineage=c.lineage,
                    position=c.position,
                    title=c.title,
                    description=c.description,
                    scale=c.scale,
                    points=c.points,
                    weight=c.weight,
                    na_allowed=c.na_allowed,
                    critical=c.critical,
                    critical_effect=c.critical_effect,
                    fail_at_or_below=c.fail_at_or_below,
                    agent_controllable=c.agent_controllable,
                )
                for c in section.criteria.all()
            ]
        )
    return new


def version_problems(version: ScorecardVersion) -> list[str]:
    """What stops this version from being published (empty: publishable)."""
    problems = []
    criteria = list(
        Criterion.objects.filter(organization_id=version.organization_id, version=version)
    )
    if not any(c.weight > 0 for c in criteria):
        problems.append("A scorecard needs at least one criterion with a weight above 0.")
    for c in criteria:
        if c.critical and c.fail_at_or_below is None:
            problems.append(f"“{c.title}” is critical but has no failing value.")
        if len(set(c.values)) < 2:
            problems.append(f"“{c.title}” needs at least two different answer values.")
    for section in version.sections.all():
        if not any(c.section_id == section.pk for c in criteria):
            problems.append(f"Section “{section.title}” has no criteria.")
    return problems


@transaction.atomic
def version_publish(version: ScorecardVersion, *, member: Membership) -> ScorecardVersion:
    _require_draft(version)
    problems = version_problems(version)
    if problems:
        raise ValidationError(problems)
    org_id = version.organization_id
    ScorecardVersion.objects.filter(
        organization_id=org_id, scorecard_id=version.scorecard_id, status=VersionStatus.PUBLISHED
    ).update(status=VersionStatus.SUPERSEDED)
    now = timezone.now()
    ScorecardVersion.objects.filter(organization_id=org_id, pk=version.pk).update(
        status=VersionStatus.PUBLISHED, published_at=now, published_by=member
    )
    version.status, version.published_at, version.published_by = (
        VersionStatus.PUBLISHED,
        now,
        member,
    )
    return version


# --- sections ----------------------------------------------------------------------------------


def _next_position(qs) -> int:
    return (qs.aggregate(p=Max("position"))["p"] or 0) + 1


@transaction.atomic
def section_add(version: ScorecardVersion, *, title: str) -> Section:
    _require_draft(version)
    return Section.objects.create(
        organization_id=version.organization_id,
        version=version,
        title=title,
        position=_next_position(version.sections.all()),
    )


@transaction.atomic
def section_update(section: Section, *, title: str) -> None:
    _require_draft(section.version)
    Section.objects.filter(organization_id=section.organization_id, pk=section.pk).update(
        title=title
    )


@transaction.atomic
def section_delete(section: Section) -> None:
    _require_draft(section.version)
    section.delete()


def _move(obj, siblings, direction: str) -> None:
    """Swap with the neighbour above or below; positions are renumbered 0..n first so equal
    positions (legacy or concurrent adds) cannot make a move a no-op."""
    items = list(siblings)
    index = next(i for i, o in enumerate(items) if o.pk == obj.pk)
    target = index - 1 if direction == "up" else index + 1
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
    for position, item in enumerate(items):
        if item.position != position:
            type(item).objects.filter(organization_id=item.organization_id, pk=item.pk).update(
                position=position
            )


@transaction.atomic
def section_move(section: Section, direction: str) -> None:
    _require_draft(section.version)
    _move(section, section.version.sections.all(), direction)


# --- criteria ----------------------------------------------------------------------------------

CRITERION_FIELDS = (
    "title",
    "description",
    "scale",
    "points",
    "weight",
    "na_allowed",
    "critical",
    "critical_effect",
    "fail_at_or_below",
    "agent_controllable",
)


def criterion_clean(fields: dict) -> dict:
    """Normalise and check one criterion's fields; ValidationError names the field."""
    fields = dict(fields)
    scale = fields.get("scale") or Scale.YES_NO
    if scale == Scale.CUSTOM:
        points = fields.get("points") or []
        values = [int(p["value"]) for p in points]
        if len(set(values)) < 2:
            raise ValidationError({"points": "Give at least two points with different values."})
        if len(values) != len(set(values)):
            raise ValidationError({"points": "Each point needs its own value."})
        fields["points"] = sorted(points, key=lambda p: -int(p["value"]))
    else:
        fields["points"] = []
        values = [p["value"] for p in SCALE_POINTS[scale]]
    weight = fields.get("weight")
    if weight is None or not 0 <= int(weight) <= 100:
        raise ValidationError({"weight": "The weight is a whole number from 0 to 100."})
    if fields.get("critical"):
        fail = fields.get("fail_at_or_below")
        if fail is None:
            raise ValidationError(
                {"fail_at_or_below": "A critical criterion needs a failing value."}
            )
        if int(fail) not in values:
            raise ValidationError({"fail_at_or_below": "The failing value must be on the scale."})
        if int(fail) >= max(values):
            raise ValidationError(
                {"fail_at_or_below": "The best answer cannot fail: choose a lower value."}
            )
    else:
        fields["fail_at_or_below"] = None
    return fields


@transaction.atomic
def criterion_add(section: Section, **fields) -> Criterion:
    _require_draft(section.version)
    fields = criterion_clean(fields)
    return Criterion.objects.create(
        organization_id=section.organization_id,
        section=section,
        version_id=section.version_id,
        position=_next_position(section.criteria.all()),
        **{k: fields[k] for k in CRITERION_FIELDS if k in fields},
    )


@transaction.atomic
def criterion_update(criterion: Criterion, **fields) -> Criterion:
    _require_draft(criterion.version)
    fields = criterion_clean(fields)
    for key in CRITERION_FIELDS:
        if key in fields:
            setattr(criterion, key, fields[key])
    criterion.save()
    return criterion


@transaction.atomic
def criterion_delete(criterion: Criterion) -> None:
    _require_draft(criterion.version)
    criterion.delete()


@transaction.atomic
def criterion_move(criterion: Criterion, direction: str) -> None:
    """Up/down within its section; past the first or last it moves to the neighbouring
    section (last or first place there)."""
    _require_draft(criterion.version)
    siblings = list(criterion.section.criteria.all())
    index = next(i for i, c in enumerate(siblings) if c.pk == criterion.pk)
    at_edge = (direction == "up" and index == 0) or (
        direction == "down" and index == len(siblings) - 1
    )
    if not at_edge:
        _move(criterion, siblings, direction)
        return
    sections = list(criterion.version.sections.all())
    s_index = next(i for i, s in enumerate(sections) if s.pk == criterion.section_id)
    target = s_index - 1 if direction == "up" else s_index + 1
    if not 0 <= target < len(sections):
        return
    dest = sections[target]
    others = list(dest.criteria.all())
    ordered = others + [criterion] if direction == "up" else [criterion] + others
    Criterion.objects.filter(organization_id=criterion.organization_id, pk=criterion.pk).update(
        section=dest
    )
    for position, item in enumerate(ordered):
        Criterion.objects.filter(organization_id=item.organization_id, pk=item.pk).update(
            position=position
        )
