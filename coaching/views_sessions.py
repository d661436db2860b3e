"""Pages of formal coaching under /o/<org>/coaching/: 1:1 sessions, SMART goals, coverage,
effectiveness (admins) and session categories (admins). Thin: access, one service call, render.
Private coach-only notes reach a template only through ``private_notes_for`` (the coach)."""

from __future__ import annotations

import csv
from datetime import date, datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from coachhub.tenancy.access import get_member_for

from . import selectors as sel
from . import selectors_sessions as ss
from .models_sessions import ActionItem, GoalMetric, SessionCategory, SessionState
from .services import goals as goal_svc
from .services import sessions as svc


def _staff(request):
    if request.member.is_agent:
        raise PermissionDenied("Your role cannot do this.")


def _admin(request):
    if not request.member.is_admin:
        raise PermissionDenied("Only admins see this.")


def _session_url(request, session):
    return reverse(
        "coaching:session_detail",
        kwargs={"org": request.organization.slug, "session_id": session.public_id},
    )


def _flash_errors(request, errors: dict):
    for field, reason in errors.items():
        messages.error(request, f"{field}: {reason}")


def _parse_dt(raw, organization):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        dt = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=organization.tz)


def _parse_date(raw):
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


# --- sessions ------------------------------------------------------------------------------------


@require_GET
def session_list(request, org):
    member = request.member
    return render(
        request,
        "coaching/sessions/session_list.html",
        {
            "sessions": ss.sessions_list(member),
            "follow_ups": ss.session_follow_ups_due(member) if not member.is_agent else [],
        },
    )


def _preparation(member, raw_agent):
    """The agent chosen on the preparation form (None when none or not one the member coaches)
    and what a session prepared now would bring: the preparation list."""
    if not raw_agent:
        return None, []
    try:
        agent = get_member_for(member, raw_agent)
    except Http404:
        return None, []
    if not svc.may_coach(member, agent):
        return None, []
    return agent, ss.preparation_items(member, agent)


@require_http_methods(["GET", "POST"])
def session_new(request, org):
    _staff(request)
    member = request.member
    errors: dict = {}
    data = request.POST if request.method == "POST" else request.GET
    chosen, prep_items = _preparation(member, data.get("agent"))
    if request.method == "POST":
        agent = None
        try:
            agent = get_member_for(member, request.POST.get("agent") or "")
        except Http404:
            errors["agent"] = "Choose an agent of a team you lead."
        if agent is not None:
            try:
                session = svc.session_prepare(
                    supervisor=member,
                    agent=agent,
                    behaviour_ids=request.POST.getlist("behaviour"),
                    category_id=request.POST.get("category") or None,
                    purpose=request.POST.get("purpose", ""),
                    scheduled_for=_parse_dt(
                        request.POST.get("scheduled_for"), request.organization
                    ),
                )
            except svc.SessionInvalid as exc:
                errors = exc.errors
            else:
                messages.success(request, f"Draft 1:1 with {agent.display_name} prepared.")
                return redirect(_session_url(request, session))
    categories = list(
        SessionCategory.objects.filter(organization_id=request.organization.pk, is_active=True)
    )
    return render(
        request,
        "coaching/sessions/session_form.html",
        {
            "agents": ss.coachable_agents(member),
            "behaviours": sel.behaviours_of(request.organization),
            "categories": categories,
            "chosen": chosen,
            "prep_items": prep_items,
            "errors": errors,
            "data": data,
        },
        status=400 if errors else 200,
    )


@require_GET
def session_detail(request, org, session_id):
    member = request.member
    session = ss.get_session_for(member, session_id)
    is_coach = member.pk == session.supervisor_id
    is_agent = member.pk == session.agent_id
    return render(
        request,
        "coaching/sessions/session_detail.html",
        {
            "session": session,
            "is_coach": is_coach,
            "is_agent": is_agent,
            # Coach-only; the agent (and anyone else) gets an empty list, not a hidden block.
            "private_notes": ss.private_notes_for(session, member) if is_coach else [],
            "items": ss.session_items(session, member),
            "actions": ss.session_actions(session),
            "goals": list(session.goals.all()),
            "next_states": sorted(svc.TRANSITIONS.get(session.state, ())),
            "behaviours": sel.behaviours_of(request.organization),
            "categories": SessionCategory.objects.filter(
                organization_id=request.organization.pk, is_active=True
            ),
            "S": SessionState,
            "grow": [
                ("grow_goal", "Goal", session.grow_goal),
                ("grow_reality", "Reality", session.grow_reality),
                ("grow_options", "Options", session.grow_options),
                ("grow_will", "Will (way forward)", session.grow_will),
            ],
        },
    )


def _session_post(request, session_id, action, ok: str):
    session = ss.get_session_for(request.member, session_id)
    try:
        action(session)
    except svc.SessionInvalid as exc:
        if "session" in exc.errors:  # may see the session, but this part is not theirs
            raise PermissionDenied(exc.errors["session"]) from exc
        _flash_errors(request, exc.errors)
        return redirect(_session_url(request, session))
    messages.success(request, ok)
    return redirect(_session_url(request, session))


@require_POST
def session_state(request, org, session_id):
    to = request.POST.get("to", "")
    labels = dict(SessionState.choices)
    return _session_post(
        request,
        session_id,
        lambda s: svc.transition(s, to, request.member),
        f"Session: {labels.get(to, to).lower()}.",
    )


@require_POST
def session_prep(request, org, session_id):
    return _session_post(
        request,
        session_id,
        lambda s: svc.session_update_prep(
            s,
            request.member,
            behaviour_ids=request.POST.getlist("behaviour"),
            category_id=request.POST.get("category") or None,
            purpose=request.POST.get("purpose", ""),
            scheduled_for=_parse_dt(request.POST.get("scheduled_for"), request.organization),
        ),
        "Preparation saved.",
    )


@require_POST
def session_self_assessment(request, org, session_id):
    return _session_post(
        request,
        session_id,
        lambda s: svc.session_agent_prepare(
            s,
            request.member,
            self_assessment=request.POST.get("self_assessment", ""),
            topics=request.POST.get("agent_topics", ""),
        ),
        "Your self-assessment is saved.",
    )


@require_POST
def session_notes(request, org, session_id):
    return _session_post(
        request,
        session_id,
        lambda s: svc.session_record(
            s, request.member, request.POST, request.POST.get("developmental") == "on"
        ),
        "Session notes saved.",
    )


@require_POST
def session_private_note(request, org, session_id):
    return _session_post(
        request,
        session_id,
        lambda s: svc.private_note_add(s, request.member, request.POST.get("body", "")),
        "Private note saved (only you see it).",
    )


@require_POST
def session_action_add(request, org, session_id):
    return _session_post(
        request,
        session_id,
        lambda s: svc.action_add(
            s,
            request.member,
            text=request.POST.get("text", ""),
            owner_id=request.POST.get("owner"),
            due_date=_parse_date(request.POST.get("due_date")),
        ),
        "Action item added.",
    )


@require_POST
def session_action_toggle(request, org, session_id, action_id):
    session = ss.get_session_for(request.member, session_id)
    action = (
        ActionItem.objects.filter(
            organization_id=session.organization_id, session=session, public_id=action_id
        )
        .select_related("session")
        .first()
    )
    if action is None:
        raise Http404("No such page")
    try:
        svc.action_toggle(action, request.member)
    except svc.SessionInvalid as exc:
        raise PermissionDenied(str(exc.errors)) from exc
    return redirect(_session_url(request, session))


@require_POST
def session_rate(request, org, session_id):
    return _session_post(
        request,
        session_id,
        lambda s: svc.session_rate(
            s, request.member, request.POST.get("rating"), request.POST.get("comment", "")
        ),
        "Thanks: your rating is only shown to admins, combined with others'.",
    )


@require_GET
def session_export(request, org):
    """CSV of the sessions the member sees. Never private notes (for anyone)."""
    sessions = ss.sessions_list(request.member, limit=5000)
    out = HttpResponse(content_type="text/csv; charset=utf-8")
    out["Content-Disposition"] = 'attachment; filename="sessions.csv"'
    w = csv.writer(out)
    w.writerow(
        [
            "id",
            "state",
            "agent",
            "supervisor",
            "behaviour",
            "category",
            "purpose",
            "self_assessment",
            "agent_topics",
            "grow_goal",
            "grow_reality",
            "grow_options",
            "grow_will",
            "created_at",
        ]
    )
    for s in sessions:
        w.writerow(
            [
                s.public_id,
                s.state,
                s.agent.display_name,
                s.supervisor.display_name,
                s.behaviour.name if s.behaviour else "",
                s.category.name if s.category else "",
                s.purpose,
                s.self_assessment,
                s.agent_topics,
                s.grow_goal,
                s.grow_reality,
                s.grow_options,
                s.grow_will,
                s.created_at.isoformat(),
            ]
        )
    return out


# --- goals ---------------------------------------------------------------------------------------


@require_GET
def goal_list(request, org):
    goals = ss.goals_list(request.member)
    today = goal_svc.today_for(request.organization)
    rows = [(g, goal_svc.goal_progress(g, today, with_series=False)) for g in goals]
    return render(request, "coaching/sessions/goal_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def goal_new(request, org):
    _staff(request)
    member = request.member
    errors: dict = {}
    warnings: dict = {}
    data = request.POST if request.method == "POST" else request.GET
    session = None
    if sid := data.get("session"):
        session = ss.get_session_for(member, sid)
        if session.supervisor_id != member.pk:
            raise PermissionDenied("Only the session's coach sets its goals.")
    if request.method == "POST":
        agent = session.agent if session else None
        if agent is None:
            try:
                agent = get_member_for(member, data.get("agent") or "")
            except Http404:
                agent = None
        if agent is None or not svc.may_coach(member, agent):
            errors["agent"] = "Choose an agent of a team you lead."
        else:
            try:
                goal = goal_svc.goal_create(
                    created_by=member,
                    agent=agent,
                    title=data.get("title", ""),
                    metric=data.get("metric", ""),
                    target=data.get("target", ""),
                    due_date=data.get("due_date", ""),
                    session=session,
                    accept_warnings=data.get("confirm") == "1",
                )
            except goal_svc.GoalInvalid as exc:
                errors, warnings = exc.errors, exc.warnings
            else:
                messages.success(request, f"Goal set for {agent.display_name}.")
                return redirect(
                    "coaching:goal_detail", org=request.organization.slug, goal_id=goal.public_id
                )
    return render(
        request,
        "coaching/sessions/goal_form.html",
        {
            "agents": ss.coachable_agents(member),
            "metrics": GoalMetric.choices,
            "session": session,
            "errors": errors,
            "warnings": warnings,
            "data": data,
            "min_days": goal_svc.MIN_DAYS,
            "max_days": goal_svc.MAX_DAYS,
        },
        status=400 if errors else 200,
    )


def _sparkline(series, target, start_day, due_date, width=320, height=80) -> dict | None:
    """An inline SVG polyline of the cumulative value over the goal's whole period (x: days from
    start to due date) with the target line and a dot for now."""
    if not series:
        return None
    values = [v for _d, v in series] + [target]
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    total = max(1, (due_date - start_day).days)

    def x(day):
        return round(6 + (day - start_day).days / total * (width - 12), 1)

    def y(v):
        return round(height - 6 - (v - lo) / span * (height - 12), 1)

    points = " ".join(f"{x(d)},{y(v)}" for d, v in series)
    last_day, last_value = series[-1]
    return {
        "points": points,
        "target_y": y(target),
        "width": width,
        "height": height,
        "last_x": x(last_day),
        "last_y": y(last_value),
    }


@require_GET
def goal_detail(request, org, goal_id):
    goal = ss.get_goal_for(request.member, goal_id)
    progress = goal_svc.goal_progress(goal)
    fmt = goal_svc.metrics_fmt
    return render(
        request,
        "coaching/sessions/goal_detail.html",
        {
            "goal": goal,
            "progress": progress,
            "baseline_text": fmt(goal.metric, goal.baseline),
            "target_text": fmt(goal.metric, goal.target),
            "current_text": fmt(goal.metric, progress.current),
            "spark": _sparkline(progress.series, goal.target, goal.start_day, goal.due_date),
            "effect": ss.goal_effect(goal) if not request.member.is_agent else None,
            "time_pct": round(progress.fraction_time * 100),
        },
    )


# --- coverage, effectiveness, categories ----------------------------------------------------------


@require_GET
def coverage(request, org):
    _staff(request)
    return render(request, "coaching/sessions/coverage.html", {"rows": ss.coverage(request.member)})


@require_GET
def effectiveness(request, org):
    _admin(request)
    return render(
        request,
        "coaching/sessions/effectiveness.html",
        {
            "report": ss.effectiveness_report(request.organization),
            "ratings": ss.ratings_by_supervisor(request.organization),
            "rating_min_n": ss.RATING_MIN_N,
            "now": timezone.now(),
        },
    )


def _category_values(post) -> dict:
    return {
        "name": post.get("name", ""),
        "prompts": post.get("prompts", ""),
        "is_active": post.get("is_active", "") in {"1", "on", "true"},
    }


def _category_form(request, category=None):
    _admin(request)
    organization = request.organization
    errors: dict = {}
    if request.method == "POST":
        values = _category_values(request.POST)
        if category is None:
            values.pop("is_active")  # a new category starts active
        try:
            saved = svc.category_save(organization, values, category=category)
        except svc.SessionInvalid as exc:
            errors = exc.errors
            form = values
        else:
            messages.success(request, f"Category “{saved.name}” saved.")
            return redirect("coaching:category_list", org=organization.slug)
    elif category is not None:
        form = {"name": category.name, "prompts": category.prompts, "is_active": category.is_active}
    else:
        form = {"name": "", "prompts": "", "is_active": True}
    return render(
        request,
        "coaching/sessions/category_list.html",
        {
            "category": category,
            "categories": (list(ss.categories_with_use(organization)) if category is None else []),
            "form": form,
            "errors": errors,
            "max_prompts": svc.MAX_PROMPTS,
            "max_prompt": svc.MAX_PROMPT,
        },
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def category_list(request, org):
    """The admin's list of coaching categories with their template prompts, and a new one."""
    return _category_form(request)


@require_http_methods(["GET", "POST"])
def category_edit(request, org, category_id):
    _admin(request)
    return _category_form(request, ss.get_category(request.organization, category_id))


@require_POST
def category_toggle(request, org, category_id):
    _admin(request)
    category = ss.get_category(request.organization, category_id)
    svc.category_set_active(category, not category.is_active)
    messages.success(
        request,
        f"Category “{category.name}” "
        + ("offered again." if category.is_active else "deactivated: no longer offered."),
    )
    return redirect("coaching:category_list", org=request.organization.slug)


# --- QA reviews saved for a 1:1 -------------------------------------------------------------------


@require_POST
def save_review(request, org, review_id):
    """Save (or un-save) a QA review for a 1:1: the reviewed agent, or their coach. qa decides
    who may see the review (404 otherwise, like another organization's)."""
    from qa.selectors import get_review_for

    review = get_review_for(request.member, review_id)
    try:
        saved = svc.review_save_toggle(request.member, review)
    except svc.SaveNotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    except svc.SessionInvalid as exc:
        return HttpResponse(
            "\n".join(f"{k}: {v}" for k, v in exc.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    if request.member.is_agent:
        text = "Saved for your next 1:1." if saved else "Removed from your list."
    else:
        who = review.agent.display_name
        text = f"Saved for your next 1:1 with {who}." if saved else "Removed from your 1:1 list."
    messages.success(request, text)
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/") and "//" not in target:
        return redirect(target)
    return redirect("qa:review_detail", org=org, review_id=review.public_id)
