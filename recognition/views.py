"""Pages of recognition: team wall (htmx live), own kudos page, giving kudos, rewards,
the reward catalogue, leaderboards, TV links and settings. Thin: services write, selectors read."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from coachhub.tenancy.access import admin_required, get_member_for, get_team_for, teams_visible_to
from coachhub.tenancy.models import AgentProfile, Membership, Organization, Team

from . import selectors
from .forms import (
    KudosBehaviourForm,
    KudosForm,
    LeaderboardQuery,
    PreferenceForm,
    RecognitionSettingsForm,
    RewardActionForm,
    RewardItemForm,
    TVLinkForm,
)
from .models import Motivation, RewardStatus, Tier, TVLink
from .services import behaviours as behaviour_svc
from .services import rewards as reward_svc
from .services import tv as tv_svc
from .services.kudos import KudosInvalid, kudos_give
from .settings import RECOGNITION_DEFAULTS, TIERS, recognition_setting

WALL_SIZE = 50
BOARD_ROWS = 100  # rows shown before "Show all"


def _errors_to_form(form, errors: dict) -> None:
    for field, message in errors.items():
        form.add_error(field if field in form.fields else None, message)


# --- the team wall ---------------------------------------------------------------------------


def _wall_team(request) -> Team | None:
    raw = request.GET.get("team")
    if raw:
        return get_team_for(request.member, raw)
    return None


def wall(request, org):
    member = request.member
    team = _wall_team(request)
    items = list(selectors.wall_kudos(member, team)[:WALL_SIZE])
    context = {"items": items, "team": team, "teams": list(teams_visible_to(member))}
    if request.htmx:
        return render(request, "recognition/_wall_items.html", context)
    return render(request, "recognition/wall.html", context)


@require_http_methods(["GET", "POST"])
def kudos_new(request, org):
    member = request.member
    recipients = list(selectors.kudos_recipients_for(member))
    form = KudosForm(
        request.POST or None,
        recipients=recipients,
        behaviours=selectors.behaviours(request.organization),
        initial={"recipient": request.GET.get("to", "")},
    )
    response = _linked_response(request)
    review = _linked_review(request)
    if request.method == "POST" and form.is_valid():
        recipient = next(
            (m for m in recipients if str(m.public_id) == form.cleaned_data["recipient"]), None
        )
        try:
            kudos_give(
                member,
                recipient,
                behaviour=form.cleaned_data["behaviour"],
                message=form.cleaned_data["message"],
                response=response,
                review=review,
            )
        except KudosInvalid as exc:
            _errors_to_form(form, exc.errors)
        else:
            messages.success(request, f"Kudos sent to {recipient.display_name}.")
            return redirect("recognition:wall", org=org)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "recognition/kudos_form.html", {"form": form, "response": response}, status=status
    )


def _linked_response(request):
    """``?response=<uuid>``: a response the giver may see (feedback's visibility rules)."""
    raw = request.GET.get("response") or request.POST.get("response")
    if not raw:
        return None
    from feedback.models import Response

    qs = Response.objects.filter(organization_id=request.organization.pk)
    member = request.member
    if member.is_supervisor:
        qs = qs.filter(agent__team_id__in=member.led_team_ids)
    elif member.is_agent:
        raise Http404("No such response")
    try:
        return qs.get(public_id=raw)
    except Exception as exc:
        raise Http404("No such response") from exc


def _linked_review(request):
    """``?review=<uuid>``: a submitted QA review the giver may see (QA's visibility rules)."""
    raw = request.GET.get("review") or request.POST.get("review")
    if not raw:
        return None
    from qa.selectors import get_review_for

    review = get_review_for(request.member, raw)
    if review.status != "submitted":
        raise Http404("No such review")
    return review


# --- an agent's recognition ------------------------------------------------------------------


def _recognition_context(viewer: Membership, agent: Membership) -> dict:
    return {
        "agent": agent,
        "kudos": list(selectors.kudos_of(viewer, agent)[:100]),
        "achievements": list(selectors.achievements_of(agent)),
        "rewards": list(selectors.rewards_visible_to(viewer).filter(agent=agent)[:50]),
        "progress": selectors.vote_progress(agent),
        "is_public": selectors.is_public(agent),
    }


@require_http_methods(["GET", "POST"])
def mine(request, org):
    member = request.member
    profile = member.profile
    motivation = Motivation.objects.filter(
        organization_id=member.organization_id, member=member
    ).first()
    form = None
    if member.is_agent:
        initial = {
            "recognition_preference": profile.recognition_preference if profile else "public",
            "motivators": profile.motivators if profile else "",
            "choices": motivation.choices if motivation else [],
        }
        form = PreferenceForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            _preference_save(member, form.cleaned_data)
            messages.success(request, "Saved your recognition preference.")
            return redirect("recognition:mine", org=org)
    elif request.method == "POST":
        raise PermissionDenied("Only agents set a recognition preference.")
    context = _recognition_context(member, member)
    context.update(form=form, own=True)
    return render(
        request,
        "recognition/agent.html",
        context,
        status=400 if form is not None and form.errors else 200,
    )


@transaction.atomic
def _preference_save(member: Membership, data: dict) -> None:
    profile, _ = AgentProfile.objects.get_or_create(
        organization_id=member.organization_id, membership=member
    )
    profile.recognition_preference = data["recognition_preference"]
    profile.motivators = data["motivators"].strip()
    profile.save(update_fields=["recognition_preference", "motivators"])
    Motivation.objects.update_or_create(
        organization_id=member.organization_id, member=member, defaults={"choices": data["choices"]}
    )


def agent_page(request, org, agent_id):
    viewer = request.member
    agent = get_member_for(viewer, agent_id)
    context = _recognition_context(viewer, agent)
    context["motivation"] = Motivation.objects.filter(
        organization_id=agent.organization_id, member=agent
    ).first()
    context["own"] = viewer.pk == agent.pk
    return render(request, "recognition/agent.html", context)


# --- rewards ---------------------------------------------------------------------------------


def reward_list(request, org):
    member = request.member
    rewards = list(selectors.rewards_visible_to(member)[:200])
    return render(
        request,
        "recognition/rewards.html",
        {"rewards": rewards, "waiting": sum(1 for r in rewards if r.status == RewardStatus.EARNED)},
    )


@admin_required
@require_http_methods(["GET", "POST"])
def reward_detail(request, org, reward_id):
    earned = selectors.get_reward_for(request.member, reward_id)
    items = list(
        selectors.catalogue(request.organization, active_only=True).filter(tier=earned.tier)
    )
    form = RewardActionForm(request.POST or None, items=items)
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        try:
            if action == "approve":
                item = next(
                    (i for i in items if str(i.public_id) == form.cleaned_data["item"]), None
                )
                reward_svc.reward_approve(request.member, earned, item, form.cleaned_data["note"])
            elif action == "fulfil":
                reward_svc.reward_fulfil(request.member, earned, form.cleaned_data["note"])
            else:
                raise reward_svc.RewardInvalid({"action": "Approve or mark fulfilled."})
        except reward_svc.RewardInvalid as exc:
            _errors_to_form(form, exc.errors)
        else:
            messages.success(request, "Reward updated.")
            return redirect("recognition:rewards", org=org)
    return render(
        request,
        "recognition/reward_detail.html",
        {"earned": earned, "form": form, "items": items},
        status=400 if form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def catalogue(request, org):
    form = RewardItemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            reward_svc.item_add(request.organization, **form.cleaned_data)
        except reward_svc.RewardInvalid as exc:
            _errors_to_form(form, exc.errors)
        else:
            messages.success(request, "Added to the catalogue.")
            return redirect("recognition:catalogue", org=org)
    items = list(selectors.catalogue(request.organization))
    tiers = [
        {
            "tier": t,
            "label": Tier(t).label,
            "threshold": recognition_setting(request.organization, f"reward_votes_{t}"),
            "items": [i for i in items if i.tier == t],
        }
        for t in TIERS
    ]
    return render(
        request,
        "recognition/catalogue.html",
        {"form": form, "tiers": tiers},
        status=400 if form.errors else 200,
    )


@admin_required
@require_POST
def catalogue_toggle(request, org, item_id):
    try:
        item = selectors.catalogue(request.organization).get(public_id=item_id)
    except Exception as exc:
        raise Http404("No such reward") from exc
    reward_svc.item_toggle(item)
    return redirect("recognition:catalogue", org=org)


# --- leaderboards ----------------------------------------------------------------------------


def _may_see_leaderboards(member: Membership) -> bool:
    return not member.is_agent or selectors.agents_may_see_leaderboards(member.organization)


def leaderboard_page(request, org):
    member = request.member
    if not _may_see_leaderboards(member):
        raise PermissionDenied("Your organization has not turned leaderboards on for agents.")
    teams = (
        list(teams_visible_to(member))
        if not member.is_agent
        else list(Team.objects.filter(organization_id=member.organization_id))
    )
    form = LeaderboardQuery(request.GET or None, teams=teams)
    lb = None
    if not request.GET or form.is_valid():
        data = form.cleaned_data if request.GET else {}
        team = next((t for t in teams if str(t.public_id) == data.get("team")), None)
        if team is None and member.is_supervisor and not data.get("team"):
            team = teams[0] if teams else None
        lb = selectors.leaderboard(
            request.organization,
            metric=data.get("metric") or "stars",
            period=data.get("period") or "month",
            team=team,
            start=data.get("start"),
            end=data.get("end"),
        )
        lb = selectors.trim_for(member, lb)
    show_all = request.GET.get("all") == "1"
    ranked = not_enough = []
    if lb is not None:
        ranked, not_enough = lb.board.ranked, lb.board.not_enough
        if not show_all:  # a long board shows its top and the viewer's own row
            ranked = [e for i, e in enumerate(ranked) if i < BOARD_ROWS or e.agent_id == member.pk]
            not_enough = not_enough[:BOARD_ROWS]
    query = request.GET.copy()
    query["all"] = "1"
    return render(
        request,
        "recognition/leaderboard.html",
        {
            "form": form,
            "lb": lb,
            "me": member.pk,
            "ranked": ranked,
            "not_enough": not_enough,
            "hidden": (len(lb.board.ranked) - len(ranked)) if lb else 0,
            "hidden_not_enough": (len(lb.board.not_enough) - len(not_enough)) if lb else 0,
            "all_url": "?" + query.urlencode(),
        },
        status=400 if form.errors else 200,
    )


# --- TV links --------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def tv_links(request, org):
    teams = list(teams_visible_to(request.member))
    form = TVLinkForm(request.POST or None, teams=teams)
    created_url = None
    if request.method == "POST" and form.is_valid():
        team = next((t for t in teams if str(t.public_id) == form.cleaned_data["team"]), None)
        try:
            _link, secret = tv_svc.tv_link_create(
                request.member,
                name=form.cleaned_data["name"],
                team=team,
                metric=form.cleaned_data["metric"],
                period=form.cleaned_data["period"],
            )
        except tv_svc.TVLinkInvalid as exc:
            _errors_to_form(form, exc.errors)
        else:
            created_url = request.build_absolute_uri(reverse("tv:page", kwargs={"token": secret}))
            form = TVLinkForm(teams=teams)
    return render(
        request,
        "recognition/tv_links.html",
        {
            "form": form,
            "links": list(selectors.tv_links(request.organization)),
            "created_url": created_url,
        },
        status=400 if form.errors else 200,
    )


@admin_required
@require_POST
def tv_link_revoke(request, org, link_id):
    try:
        link = TVLink.objects.get(organization_id=request.organization.pk, public_id=link_id)
    except Exception as exc:
        raise Http404("No such link") from exc
    tv_svc.tv_link_revoke(link)
    messages.success(request, f"Revoked “{link.name}”: the screen now shows nothing.")
    return redirect("recognition:tv_links", org=org)


# --- kudos behaviours (admin list) -------------------------------------------------------------


def _behaviour_for(request, kudos_behaviour_id):
    try:
        return selectors.kudos_behaviours(request.organization).get(public_id=kudos_behaviour_id)
    except Exception as exc:
        raise Http404("No such behaviour") from exc


@admin_required
@require_http_methods(["GET", "POST"])
def behaviour_list(request, org):
    form = KudosBehaviourForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            added = behaviour_svc.behaviour_add(request.organization, **form.cleaned_data)
        except behaviour_svc.BehaviourInvalid as exc:
            _errors_to_form(form, exc.errors)
        else:
            messages.success(request, f"Added “{added.name}”: it can be chosen for kudos now.")
            return redirect("recognition:behaviours", org=org)
    return render(
        request,
        "recognition/behaviours.html",
        {"form": form, "behaviours": list(selectors.kudos_behaviours(request.organization))},
        status=400 if form.errors else 200,
    )


@admin_required
@require_http_methods(["GET", "POST"])
def behaviour_edit(request, org, kudos_behaviour_id):
    behaviour = _behaviour_for(request, kudos_behaviour_id)
    form = KudosBehaviourForm(
        request.POST or None,
        initial={"name": behaviour.name, "description": behaviour.description},
    )
    if request.method == "POST" and form.is_valid():
        try:
            behaviour_svc.behaviour_edit(behaviour, **form.cleaned_data)
        except behaviour_svc.BehaviourInvalid as exc:
            _errors_to_form(form, exc.errors)
        else:
            messages.success(request, f"Saved “{behaviour.name}”.")
            return redirect("recognition:behaviours", org=org)
    return render(
        request,
        "recognition/behaviour_edit.html",
        {"form": form, "behaviour": behaviour},
        status=400 if form.errors else 200,
    )


@admin_required
@require_POST
def behaviour_active(request, org, kudos_behaviour_id):
    """``active=1`` offers the behaviour again, ``active=0`` retires it (idempotent, unlike a
    toggle: a double submit does not undo itself)."""
    behaviour = _behaviour_for(request, kudos_behaviour_id)
    raw = request.POST.get("active")
    if raw not in ("0", "1"):
        return render(
            request,
            "recognition/behaviour_edit.html",
            {
                "form": KudosBehaviourForm(
                    initial={"name": behaviour.name, "description": behaviour.description}
                ),
                "behaviour": behaviour,
                "active_error": "Choose 1 (offer it) or 0 (retire it).",
            },
            status=400,
        )
    behaviour_svc.behaviour_set_active(behaviour, raw == "1")
    if behaviour.is_active:
        messages.success(request, f"“{behaviour.name}” is offered for kudos again.")
    else:
        messages.success(
            request, f"Retired “{behaviour.name}”: kudos already given for it keep their name."
        )
    return redirect("recognition:behaviours", org=org)


# --- settings --------------------------------------------------------------------------------


@admin_required
@require_http_methods(["GET", "POST"])
def recognition_settings(request, org):
    organization = request.organization
    keys = list(RecognitionSettingsForm.base_fields)
    form = RecognitionSettingsForm(
        request.POST or None, initial={k: recognition_setting(organization, k) for k in keys}
    )
    if request.method == "POST" and form.is_valid():
        _settings_save(organization, form.cleaned_data)
        messages.success(request, "Recognition settings saved.")
        return redirect("recognition:settings", org=org)
    return render(
        request, "recognition/settings.html", {"form": form}, status=400 if form.errors else 200
    )


@transaction.atomic
def _settings_save(organization, values: dict) -> None:
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    merged = dict(org.settings or {})
    merged.update({k: v for k, v in values.items() if k in RECOGNITION_DEFAULTS})
    Organization.objects.filter(pk=org.pk).update(settings=merged)
    organization.settings = merged
