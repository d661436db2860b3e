"""Scorecard builder pages (admins). Thin: access function, form, one service call.

Edits of sections and criteria answer the builder partial to htmx (reorder buttons, deletes,
renames) and redirect otherwise, so everything works without JavaScript too.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from coachhub.tenancy.access import admin_required

from .. import selectors
from ..forms import CriterionForm, QASettingsForm, ScorecardForm, ScorecardSettingsForm, SectionForm
from ..models import Review, ScorecardTeam, VersionStatus
from ..services import scorecards as svc
from ..services.settings import qa_settings_update


def _builder_context(request, card, version=None):
    draft = svc.draft_of(card)
    published = svc.published_of(card)
    shown = version or draft or published or card.versions.first()
    return {
        "card": card,
        "version": shown,
        "draft": draft,
        "published": published,
        "editable": shown is not None and shown.status == VersionStatus.DRAFT,
        "sections": selectors.version_tree(shown) if shown else [],
        "problems": svc.version_problems(shown) if shown and shown.is_draft else [],
        "versions": list(card.versions.all()),
        "review_counts": {
            row["version_id"]: row["n"]
            for row in Review.objects.filter(
                organization_id=card.organization_id, version__scorecard=card
            )
            .values("version_id")
            .annotate(n=Count("id"))
        },
        "section_form": SectionForm(),
    }


def _builder_response(request, card):
    if request.htmx:
        return render(request, "qa/_builder.html", _builder_context(request, card))
    return redirect(
        "qa:scorecard_detail", org=request.organization.slug, scorecard_id=card.public_id
    )


@admin_required
def scorecard_list(request, org):
    form = ScorecardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        card = svc.scorecard_create(
            organization=request.organization,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            created_by=request.member,
        )
        messages.success(request, f"Scorecard “{card.name}” created as a draft.")
        return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)
    cards = list(selectors.scorecards_for(request.member).prefetch_related("versions"))
    for card in cards:
        versions = list(card.versions.all())
        card.published = next((v for v in versions if v.status == VersionStatus.PUBLISHED), None)
        card.draft = next((v for v in versions if v.status == VersionStatus.DRAFT), None)
    return render(
        request,
        "qa/scorecard_list.html",
        {"cards": cards, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
def scorecard_detail(request, org, scorecard_id):
    card = selectors.get_scorecard_for(request.member, scorecard_id)
    context = _builder_context(request, card)
    teams = ScorecardTeam.objects.filter(organization_id=card.organization_id, scorecard=card)
    context["settings_form"] = ScorecardSettingsForm(
        organization=request.organization,
        initial={
            "name": card.name,
            "description": card.description,
            "channels": card.channels,
            "teams": [link.team_id for link in teams],
        },
    )
    return render(request, "qa/scorecard_detail.html", context)


@admin_required
def version_detail(request, org, scorecard_id, version_id):
    card = selectors.get_scorecard_for(request.member, scorecard_id)
    version = selectors.get_version_for(request.member, card, version_id)
    context = _builder_context(request, card, version=version)
    return render(request, "qa/version_detail.html", context)


@admin_required
@require_POST
def scorecard_settings(request, org, scorecard_id):
    card = selectors.get_scorecard_for(request.member, scorecard_id)
    form = ScorecardSettingsForm(request.POST, organization=request.organization)
    if form.is_valid():
        svc.scorecard_update(
            card,
            name=form.cleaned_data["name"],
            description=form.cleaned_data["description"],
            channels=form.cleaned_data["channels"],
            teams=list(form.cleaned_data["teams"]),
        )
        messages.success(request, "Scorecard settings saved.")
        return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)
    context = _builder_context(request, card)
    context["settings_form"] = form
    return render(request, "qa/scorecard_detail.html", context, status=400)


@admin_required
@require_POST
def scorecard_edit(request, org, scorecard_id):
    """Editing a published card makes (or reopens) its next draft version."""
    card = selectors.get_scorecard_for(request.member, scorecard_id)
    draft = svc.draft_ensure(card, member=request.member)
    messages.info(request, f"Editing draft version {draft.number}; reviews keep their version.")
    return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)


@admin_required
@require_POST
def scorecard_publish(request, org, scorecard_id):
    card = selectors.get_scorecard_for(request.member, scorecard_id)
    draft = svc.draft_of(card)
    if draft is None:
        messages.error(request, "There is no draft to publish.")
        return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)
    try:
        svc.version_publish(draft, member=request.member)
    except ValidationError as exc:
        context = _builder_context(request, card)
        context["publish_errors"] = exc.messages
        context["settings_form"] = ScorecardSettingsForm(
            organization=request.organization, initial={"name": card.name}
        )
        return render(request, "qa/scorecard_detail.html", context, status=400)
    messages.success(request, f"Version {draft.number} published.")
    return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)


@admin_required
@require_POST
def scorecard_archive(request, org, scorecard_id):
    card = selectors.get_scorecard_for(request.member, scorecard_id)
    if request.POST.get("restore"):
        svc.scorecard_unarchive(card)
        messages.success(request, f"“{card.name}” is active again.")
    else:
        svc.scorecard_archive(card)
        messages.success(request, f"“{card.name}” archived: no new reviews; every score stays.")
    return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)


# --- sections ------------------------------------------------------------------------------------


def _editable_or_message(request, version) -> bool:
    if version.status != VersionStatus.DRAFT:
        messages.error(request, svc.NotEditable().messages[0])
        return False
    return True


@admin_required
@require_POST
def section_add(request, org, scorecard_id):
    card = selectors.get_scorecard_for(request.member, scorecard_id)
    draft = svc.draft_of(card)
    form = SectionForm(request.POST)
    if draft is None:
        messages.error(request, svc.NotEditable().messages[0])
    elif form.is_valid():
        svc.section_add(draft, title=form.cleaned_data["title"])
    else:
        context = _builder_context(request, card)
        context["section_form"] = form
        template = "qa/_builder.html" if request.htmx else "qa/scorecard_detail.html"
        if not request.htmx:
            context["settings_form"] = ScorecardSettingsForm(
                organization=request.organization, initial={"name": card.name}
            )
        return render(request, template, context, status=400 if not request.htmx else 200)
    return _builder_response(request, card)


@admin_required
@require_POST
def section_edit(request, org, section_id):
    section = selectors.get_section_for(request.member, section_id)
    card = section.version.scorecard
    form = SectionForm(request.POST)
    if _editable_or_message(request, section.version) and form.is_valid():
        svc.section_update(section, title=form.cleaned_data["title"])
    elif not form.is_valid():
        messages.error(request, "A section needs a title.")
    return _builder_response(request, card)


@admin_required
@require_POST
def section_delete(request, org, section_id):
    section = selectors.get_section_for(request.member, section_id)
    if _editable_or_message(request, section.version):
        svc.section_delete(section)
    return _builder_response(request, section.version.scorecard)


@admin_required
@require_POST
def section_move(request, org, section_id):
    section = selectors.get_section_for(request.member, section_id)
    if _editable_or_message(request, section.version):
        svc.section_move(section, "up" if request.POST.get("direction") == "up" else "down")
    return _builder_response(request, section.version.scorecard)


# --- criteria ------------------------------------------------------------------------------------


@admin_required
def criterion_add(request, org, section_id):
    section = selectors.get_section_for(request.member, section_id)
    card = section.version.scorecard
    if not _editable_or_message(request, section.version):
        return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)
    form = CriterionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        criterion = svc.criterion_add(section, **form.criterion_fields)
        messages.success(request, f"Criterion “{criterion.title}” added.")
        return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)
    return render(
        request,
        "qa/criterion_form.html",
        {"form": form, "card": card, "section": section, "criterion": None},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
def criterion_edit(request, org, criterion_id):
    criterion = selectors.get_criterion_for(request.member, criterion_id)
    card = criterion.version.scorecard
    if not _editable_or_message(request, criterion.version):
        return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)
    form = CriterionForm(request.POST or None, initial=CriterionForm.initial_for(criterion))
    if request.method == "POST" and form.is_valid():
        svc.criterion_update(criterion, **form.criterion_fields)
        messages.success(request, f"Criterion “{criterion.title}” saved.")
        return redirect("qa:scorecard_detail", org=org, scorecard_id=card.public_id)
    return render(
        request,
        "qa/criterion_form.html",
        {"form": form, "card": card, "section": criterion.section, "criterion": criterion},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_POST
def criterion_delete(request, org, criterion_id):
    criterion = selectors.get_criterion_for(request.member, criterion_id)
    if _editable_or_message(request, criterion.version):
        svc.criterion_delete(criterion)
    return _builder_response(request, criterion.version.scorecard)


@admin_required
@require_POST
def criterion_move(request, org, criterion_id):
    criterion = selectors.get_criterion_for(request.member, criterion_id)
    if _editable_or_message(request, criterion.version):
        svc.criterion_move(criterion, "up" if request.POST.get("direction") == "up" else "down")
    return _builder_response(request, criterion.version.scorecard)


# --- organization settings ----------------------------------------------------------------------


@admin_required
def qa_settings(request, org):
    form = QASettingsForm(
        request.POST or None, initial=QASettingsForm.initial_for(request.organization)
    )
    if request.method == "POST" and form.is_valid():
        qa_settings_update(request.organization, **form.cleaned_data)
        messages.success(request, "QA settings saved.")
        return redirect("qa:settings", org=org)
    return render(
        request,
        "qa/settings.html",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
