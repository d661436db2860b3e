"""Service-recovery pages under /o/<org>/coaching/recovery/: the queue and dashboard (recovery
specialists and admins; supervisors see their teams' cases read-only), a case with its history
and the actions its state allows, and the organization's rule (admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import selectors_recovery as sel
from .models_recovery import CaseState
from .services import recovery as svc

ACTIONS = {
    "claim": CaseState.CLAIMED,
    "contact": CaseState.CONTACTED,
    "survey": CaseState.SURVEY_SENT,
    "recovered": CaseState.RECOVERED,
    "not_recovered": CaseState.NOT_RECOVERED,
    "close": CaseState.CLOSED,
}
ACTION_LABELS = {
    "claim": "Claim",
    "contact": "Log contact",
    "survey": "Send follow-up survey",
    "recovered": "Recovered",
    "not_recovered": "Not recovered",
    "close": "Close without action",
}


def _viewer(request):
    member = request.member
    if not (sel.may_work(member) or member.is_supervisor):
        raise PermissionDenied("Service recovery is for recovery specialists and admins.")
    return member


@require_GET
def queue(request, org):
    member = _viewer(request)
    state = request.GET.get("state", "open")
    context = {
        "cases": sel.queue(member, state),
        "counts": sel.counts(member),
        "state": state,
        "states": [("open", "Open"), ("mine", "Mine"), *CaseState.choices],
        "can_work": sel.may_work(member),
    }
    return render(request, "coaching/recovery/queue.html", context)


@require_GET
def case_detail(request, org, case_id):
    member = _viewer(request)
    case = sel.get_case_for(member, case_id)
    can_work = sel.may_work(member)
    actions = []
    if can_work:
        for key, to in ACTIONS.items():
            if case.state in svc.TRANSITIONS[to]:
                actions.append({"key": key, "label": ACTION_LABELS[key]})
    context = {
        "case": case,
        "transitions": list(case.transitions.select_related("by__user")),
        "actions": actions,
        "can_work": can_work,
    }
    return render(request, "coaching/recovery/case.html", context)


@require_POST
def case_action(request, org, case_id):
    member = _viewer(request)
    case = sel.get_case_for(member, case_id)
    if not sel.may_work(member):
        raise PermissionDenied("Only recovery specialists and admins work cases.")
    action = request.POST.get("action", "")
    to = ACTIONS.get(action)
    try:
        if to is None:
            raise svc.TransitionRefused({"action": "Choose an action."})
        svc.case_transition(case, to, by=member, note=request.POST.get("note", ""))
        messages.success(request, f"{ACTION_LABELS[action]}: done.")
    except svc.TransitionRefused as exc:
        for field, reason in exc.errors.items():
            messages.error(request, f"{field}: {reason}")
        return render(
            request,
            "coaching/recovery/case.html",
            {
                "case": sel.get_case_for(member, case_id),
                "transitions": list(case.transitions.select_related("by__user")),
                "actions": [
                    {"key": k, "label": ACTION_LABELS[k]}
                    for k, t in ACTIONS.items()
                    if case.state in svc.TRANSITIONS[t]
                ],
                "can_work": True,
                "errors": exc.errors,
                "note": request.POST.get("note", ""),
            },
            status=400,
        )
    return redirect("coaching:recovery_case", org=org, case_id=case.public_id)


@require_GET
def dashboard(request, org):
    member = _viewer(request)
    raw = request.GET.get("days", "30")
    days = int(raw) if raw in ("7", "30", "90") else 30
    d = sel.dashboard(member, days)
    d["median_contact"] = sel.duration(d["median_contact_seconds"])
    return render(request, "coaching/recovery/dashboard.html", {"d": d, "days": days})


@require_http_methods(["GET", "POST"])
def rule(request, org):
    member = request.member
    if not member.is_admin:
        raise PermissionDenied("Only admins change the recovery rule.")
    organization = member.organization
    errors: dict = {}
    values = svc.recovery_rule(organization)
    if request.method == "POST":
        try:
            svc.rule_update(organization, request.POST)
            messages.success(request, "Recovery rule saved.")
            return redirect("coaching:recovery_rule", org=org)
        except svc.TransitionRefused as exc:
            errors = exc.errors
            values = {**values, **request.POST.dict()}
    status = 400 if errors else 200
    return render(
        request, "coaching/recovery/rule.html", {"values": values, "errors": errors}, status=status
    )


def open_from_alert(alert, member) -> str:
    """The alert page's "Open a recovery case" (coaching.hooks.recovery_opener)."""
    case = svc.case_open_from_alert(alert, member)
    return reverse(
        "coaching:recovery_case",
        kwargs={"org": member.organization.slug, "case_id": case.public_id},
    )


# --- digest preview and opt-out -----------------------------------------------------------


@require_http_methods(["GET", "POST"])
def digest_preview(request, org):
    """The viewer's own digest for yesterday (supervisors: daily; agents: the last weekly
    recap), exactly as it would be e-mailed, and the opt-out switch."""
    from datetime import timedelta

    from feedback.selectors_insights import today_for

    from .models_digest import DigestKind, DigestOptOut
    from .services import digest

    member = request.member
    kind = DigestKind.WEEKLY if member.is_agent else DigestKind.DAILY
    if request.method == "POST":
        digest.opt_out_set(member, kind, request.POST.get("opt_out") == "1")
        messages.success(request, "Saved.")
        return redirect("coaching:digest_preview", org=org)
    today = today_for(member.organization)
    day = today - timedelta(days=1)
    if kind == DigestKind.WEEKLY:
        day = today - timedelta(days=today.weekday() + 1)  # last Sunday
    content = digest.digest_content(member, day, kind)
    opted_out = DigestOptOut.objects.filter(
        organization_id=member.organization_id, membership=member, kind=kind
    ).exists()
    return render(
        request,
        "coaching/digest_preview.html",
        {
            "d": content,
            "kind": kind,
            "opted_out": opted_out,
            "time": digest.digest_time(member.organization),
        },
    )
