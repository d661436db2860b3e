"""Pages of coaching under /o/<org>/coaching/: the alert inbox, rules, webhooks & Slack,
micro-coaching notes with follow-ups, and the agent's saved list. Thin: access, one service
call, render."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from coachhub.tenancy.access import get_member_for, get_team_for, teams_visible_to
from coachhub.tenancy.models import Role
from feedback import selectors_stream as feedback_stream

from . import hooks
from . import selectors as sel
from .models import AlertChannel, AlertState, NoteKind, RuleKind, SlackTarget
from .services import alerts as alert_svc
from .services import notes as note_svc
from .services import rules as rule_logic
from .services import webhooks as webhook_svc


def _staff(request):
    if request.member.is_agent:
        raise PermissionDenied("Your role has no alert inbox.")


def _admin(request):
    if not request.member.is_admin:
        raise PermissionDenied("Only admins change this.")


def _errors_text(errors: dict) -> str:
    return "; ".join(f"{field}: {reason}" for field, reason in errors.items())


# --- alert inbox -------------------------------------------------------------------------------


@require_GET
def alert_list(request, org):
    _staff(request)
    state = request.GET.get("state", AlertState.OPEN)
    if state not in AlertState.values:
        state = AlertState.OPEN
    counts = sel.alert_counts(request.member)
    context = {
        "alerts": sel.alert_inbox(request.member, state),
        "state": state,
        "states": [(v, label, counts.get(v, 0)) for v, label in AlertState.choices],
        "follow_ups": sel.follow_ups_for(request.member),
    }
    if request.headers.get("HX-Request") and request.GET.get("partial"):
        return render(request, "coaching/_alert_rows.html", context)
    return render(request, "coaching/alert_list.html", context)


@require_GET
def alert_detail(request, org, alert_id):
    _staff(request)
    alert = sel.get_alert_for(request.member, alert_id)
    return render(
        request,
        "coaching/alert_detail.html",
        {
            "alert": alert,
            "rule_text": rule_logic.describe(alert.rule),
            "recovery_available": hooks.recovery_opener() is not None,
        },
    )


def _alert_action(request, org, alert_id, action):
    _staff(request)
    alert = sel.get_alert_for(request.member, alert_id)
    action(alert, request.member)
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/") and "//" not in target:
        return redirect(target)
    return redirect("coaching:alert_list", org=org)


@require_POST
def alert_acknowledge(request, org, alert_id):
    return _alert_action(request, org, alert_id, alert_svc.alert_acknowledge)


@require_POST
def alert_resolve(request, org, alert_id):
    return _alert_action(request, org, alert_id, alert_svc.alert_resolve)


@require_POST
def alert_reopen(request, org, alert_id):
    return _alert_action(request, org, alert_id, alert_svc.alert_reopen)


@require_POST
def alert_recovery(request, org, alert_id):
    """Hook point for service recovery (the next issue registers the opener)."""
    _staff(request)
    alert = sel.get_alert_for(request.member, alert_id)
    opener = hooks.recovery_opener()
    if opener is None:
        messages.info(request, "Service-recovery cases are not available yet.")
        return redirect("coaching:alert_detail", org=org, alert_id=alert.public_id)
    return redirect(opener(alert, request.member))


# --- rules -------------------------------------------------------------------------------------


def _rule_values(post) -> dict:
    return {
        "name": post.get("name", ""),
        "kind": post.get("kind", ""),
        "threshold": post.get("threshold", ""),
        "window": post.get("window", ""),
        "keywords": post.get("keywords", ""),
        "pattern": post.get("pattern", ""),
        "channels": post.getlist("channels"),
        "is_active": post.get("is_active", "") in {"1", "on", "true"},
    }


def _rule_form(request, org, rule=None):
    _admin(request)
    organization = request.organization
    errors: dict = {}
    values = {}
    if request.method == "POST":
        values = _rule_values(request.POST)
        team = None
        if team_id := request.POST.get("team"):
            try:
                team = get_team_for(request.member, team_id)
            except Http404:
                errors["team"] = "Choose a team of this organization."
        if not errors:
            try:
                alert_svc.rule_save(organization, values, rule=rule, team=team)
            except rule_logic.RuleInvalid as exc:
                errors = exc.errors
        if not errors:
            messages.success(request, "Rule saved.")
            return redirect("coaching:rule_list", org=org)
    if values:
        form = {**values, "team": request.POST.get("team", "")}
    elif rule is not None:
        form = {
            "name": rule.name,
            "kind": rule.kind,
            "threshold": rule.threshold.normalize() if rule.threshold is not None else "",
            "window": rule.window or "",
            "keywords": ", ".join(rule.keywords),
            "pattern": rule.pattern,
            "channels": rule.channels,
            "is_active": rule.is_active,
            "team": str(rule.team.public_id) if rule.team else "",
        }
    else:
        form = {
            "name": "",
            "kind": RuleKind.STARS_AT_MOST,
            "threshold": "",
            "window": "",
            "keywords": "",
            "pattern": "",
            "channels": [],
            "is_active": True,
            "team": "",
        }
    status = 400 if errors else 200
    return render(
        request,
        "coaching/rule_form.html",
        {
            "rule": rule,
            "form": form,
            "errors": errors,
            "kinds": RuleKind.choices,
            "channel_choices": AlertChannel.choices,
            "teams": list(teams_visible_to(request.member).order_by("name")),
            "rules": list(sel.rules_of(organization)) if rule is None else [],
            "describe": rule_logic.describe,
        },
        status=status,
    )


def rule_list(request, org):
    return _rule_form(request, org)


def rule_edit(request, org, rule_id):
    _admin(request)
    rule = sel._get(sel.rules_of(request.organization), rule_id)
    return _rule_form(request, org, rule)


@require_POST
def rule_delete(request, org, rule_id):
    _admin(request)
    rule = sel._get(sel.rules_of(request.organization), rule_id)
    outcome = alert_svc.rule_delete(rule)
    messages.success(request, f"Rule {outcome}.")
    return redirect("coaching:rule_list", org=org)


# --- webhooks & Slack ----------------------------------------------------------------------------


def integrations(request, org):
    _admin(request)
    organization = request.organization
    errors: dict = {}
    if request.method == "POST":
        what = request.POST.get("form")
        if what == "webhook":
            url = request.POST.get("url", "").strip()
            if url and not url.startswith(("https://", "http://")):
                errors["url"] = "Enter an http(s) URL."
            elif len(url) > 500:
                errors["url"] = "At most 500 characters."
            elif url:
                webhook_svc.webhook_save(
                    organization, url=url, is_active=request.POST.get("is_active") == "on"
                )
                messages.success(request, "Webhook saved.")
                return redirect("coaching:integrations", org=org)
            else:
                endpoint = webhook_svc.webhook_of(organization)
                if endpoint:
                    webhook_svc.webhook_delete(endpoint)
                messages.success(request, "Webhook removed.")
                return redirect("coaching:integrations", org=org)
        elif what == "slack":
            url = request.POST.get("slack_url", "").strip()
            team = None
            if team_id := request.POST.get("team"):
                try:
                    team = get_team_for(request.member, team_id)
                except Http404:
                    errors["team"] = "Choose a team of this organization."
            if url and not url.startswith("https://"):
                errors["slack_url"] = "Enter the https:// incoming-webhook URL Slack gave you."
            if not errors:
                alert_svc.slack_target_set(organization, team=team, url=url)
                messages.success(
                    request, "Slack channel saved." if url else "Slack channel removed."
                )
                return redirect("coaching:integrations", org=org)
        else:
            errors["form"] = "Unknown form."
    endpoint = webhook_svc.webhook_of(organization)
    reveal = request.session.pop("coaching_secret_reveal", False)
    return render(
        request,
        "coaching/integrations.html",
        {
            "endpoint": endpoint,
            "reveal_secret": reveal,
            "errors": errors,
            "slack_targets": list(
                SlackTarget.objects.filter(organization_id=organization.pk).select_related("team")
            ),
            "teams": list(teams_visible_to(request.member).order_by("name")),
            "deliveries": sel.deliveries_log(organization),
        },
        status=400 if errors else 200,
    )


@require_POST
def webhook_rotate(request, org):
    _admin(request)
    endpoint = webhook_svc.webhook_of(request.organization)
    if endpoint is None:
        raise Http404("No webhook")
    webhook_svc.webhook_rotate(endpoint)
    request.session["coaching_secret_reveal"] = True
    messages.success(request, "New secret made. Update your receiver.")
    return redirect("coaching:integrations", org=org)


@require_POST
def webhook_test(request, org):
    _admin(request)
    if webhook_svc.webhook_send_test(request.organization) is None:
        messages.error(request, "Set an active webhook URL first.")
    else:
        messages.success(request, "Test event queued; see the delivery log below.")
    return redirect("coaching:integrations", org=org)


@require_POST
def delivery_retry(request, org, channel_delivery_id):
    _admin(request)
    from .models import ChannelDelivery

    delivery = sel._get(
        ChannelDelivery.objects.filter(organization_id=request.organization.pk),
        channel_delivery_id,
    )
    webhook_svc.delivery_retry_now(delivery)
    messages.success(request, "Retrying.")
    return redirect("coaching:integrations", org=org)


# --- micro-coaching notes ------------------------------------------------------------------------


def _note_source(request):
    """What the note is about, from ?response= / ?alert= / ?review= / ?agent= (GET or POST)."""
    member = request.member
    params = request.POST if request.method == "POST" else request.GET
    src = {"agent": None, "interaction": None, "response": None, "alert": None, "review": None}
    if rid := params.get("response"):
        response = feedback_stream.get_response_for(member, rid)
        src.update(response=response, interaction=response.interaction, agent=response.agent)
    elif aid := params.get("alert"):
        alert = sel.get_alert_for(member, aid)
        src.update(
            alert=alert, response=alert.response, interaction=alert.interaction, agent=alert.agent
        )
    elif vid := params.get("review"):
        from qa.selectors import get_review_for

        review = get_review_for(member, vid)
        src.update(review=review, interaction=review.interaction, agent=review.agent)
    elif gid := params.get("agent"):
        src["agent"] = get_member_for(member, gid)
    if src["agent"] is not None and (src["agent"].role != Role.AGENT or src["agent"] == member):
        raise Http404("No such agent")
    return src


def note_new(request, org):
    _staff(request)
    member = request.member
    src = _note_source(request)
    errors: dict = {}
    if request.method == "POST":
        agent = src["agent"]
        if agent is None:
            if gid := request.POST.get("agent_id"):
                try:
                    agent = get_member_for(member, gid)
                except Http404:
                    agent = None
            if agent is None or agent.role != Role.AGENT:
                errors["agent"] = "Choose one of your agents."
        behaviour = (
            sel.behaviours_of(request.organization)
            .filter(public_id=request.POST.get("behaviour") or None)
            .first()
            if _is_uuid(request.POST.get("behaviour"))
            else None
        )
        if not errors:
            try:
                note = note_svc.note_create(
                    author=member,
                    agent=agent,
                    kind=request.POST.get("kind", ""),
                    behaviour=behaviour,
                    body=request.POST.get("body", ""),
                    interaction=src["interaction"],
                    response=src["response"],
                    alert=src["alert"],
                    review_public_id=src["review"].public_id if src["review"] else None,
                )
            except note_svc.NoteInvalid as exc:
                errors = exc.errors
            else:
                if src["alert"] is not None:
                    alert_svc.alert_acknowledge(src["alert"], member)
                messages.success(request, f"Note sent to {agent.display_name}.")
                return redirect("coaching:note_detail", org=org, note_id=note.public_id)
    agents = []
    if src["agent"] is None:
        from coachhub.tenancy.access import members_visible_to

        agents = list(members_visible_to(member).filter(role=Role.AGENT, is_active=True))
    return render(
        request,
        "coaching/note_form.html",
        {
            "src": src,
            "agents": agents,
            "behaviours": list(sel.behaviours_of(request.organization)),
            "kinds": NoteKind.choices,
            "errors": errors,
            "values": request.POST if request.method == "POST" else {},
        },
        status=400 if errors else 200,
    )


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


@require_GET
def note_list(request, org):
    member = request.member
    context = {"notes": sel.notes_list(member)}
    if not member.is_agent:
        context.update(
            ratio=sel.praise_ratio(member),
            uncoached=sel.uncoached_agents(member),
            follow_ups=sel.follow_ups_for(member),
        )
    return render(request, "coaching/note_list.html", context)


@require_GET
def note_detail(request, org, note_id):
    note = sel.get_note_for(request.member, note_id)
    response = note.response
    saved = False
    if request.member.is_agent:
        saved = note.pk in {
            s.note_id for s in sel.saved_for(request.member) if s.note_id is not None
        }
    return render(
        request,
        "coaching/note_detail.html",
        {
            "note": note,
            "response": response,
            "is_recipient": note.agent_id == request.member.pk,
            "saved": saved,
        },
    )


@require_POST
def note_acknowledge(request, org, note_id):
    note = sel.get_note_for(request.member, note_id)
    if note.agent_id != request.member.pk:
        raise PermissionDenied("Only the agent the note is for acknowledges it.")
    try:
        note_svc.note_acknowledge(note, request.member, request.POST.get("reply", ""))
    except note_svc.NoteInvalid as exc:
        messages.error(request, _errors_text(exc.errors))
        return redirect("coaching:note_detail", org=org, note_id=note.public_id)
    messages.success(request, "Thanks — your coach will see that you read it.")
    return redirect("coaching:note_detail", org=org, note_id=note.public_id)


@require_POST
def follow_up_done(request, org, follow_up_id):
    _staff(request)
    follow_up = sel.get_follow_up_for(request.member, follow_up_id)
    note_svc.follow_up_done(follow_up)
    messages.success(request, "Follow-up done.")
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/") and "//" not in target:
        return redirect(target)
    return redirect("coaching:note_list", org=org)


# --- focus behaviours (admin catalogue) ---------------------------------------------------------


def behaviour_list(request, org):
    _admin(request)
    errors: dict = {}
    if request.method == "POST":
        try:
            note_svc.behaviour_add(request.organization, request.POST.get("name", ""))
            return redirect("coaching:behaviour_list", org=org)
        except note_svc.NoteInvalid as exc:
            errors = exc.errors
    return render(
        request,
        "coaching/behaviour_list.html",
        {
            "behaviours": list(sel.behaviours_of(request.organization, active_only=False)),
            "errors": errors,
        },
        status=400 if errors else 200,
    )


@require_POST
def behaviour_toggle(request, org, behaviour_id):
    _admin(request)
    behaviour = sel._get(sel.behaviours_of(request.organization, active_only=False), behaviour_id)
    note_svc.behaviour_toggle(behaviour)
    return redirect("coaching:behaviour_list", org=org)


# --- saved for my next 1:1 -----------------------------------------------------------------------


def _agent_only(request):
    if not request.member.is_agent:
        raise PermissionDenied("Saving for a 1:1 is for agents.")


@require_GET
def saved_list(request, org):
    _agent_only(request)
    items = sel.with_visible_reviews(
        sel.saved_for(request.member), request.member, request.organization
    )
    return render(request, "coaching/saved_list.html", {"items": items})


def _back(request, org, fallback):
    target = request.POST.get("next", "")
    if target.startswith(f"/o/{org}/") and "//" not in target:
        return redirect(target)
    return redirect(fallback)


@require_POST
def save_response(request, org, response_id):
    response = feedback_stream.get_response_for(request.member, response_id)  # 404 first
    _agent_only(request)
    saved = note_svc.saved_toggle(request.member, response=response)
    messages.success(request, "Saved for your next 1:1." if saved else "Removed from your list.")
    return _back(request, org, reverse("coaching:saved_list", kwargs={"org": org}))


@require_POST
def save_note(request, org, note_id):
    note = sel.get_note_for(request.member, note_id)  # 404 first
    _agent_only(request)
    saved = note_svc.saved_toggle(request.member, note=note)
    messages.success(request, "Saved for your next 1:1." if saved else "Removed from your list.")
    return _back(request, org, reverse("coaching:saved_list", kwargs={"org": org}))


# --- per-card actions on feedback's streams (registered at import, see urls.py) ------------------


def stream_card_actions(responses, viewer) -> dict:
    slug = viewer.organization.slug
    out: dict = {}
    if viewer.is_agent:
        saved = sel.saved_response_ids(viewer, [r.pk for r in responses])
        for r in responses:
            out[r.pk] = [
                {
                    "label": "Saved for 1:1" if r.pk in saved else "Save for my 1:1",
                    "url": reverse(
                        "coaching:save_response", kwargs={"org": slug, "response_id": r.public_id}
                    ),
                    "method": "post",
                    "active": r.pk in saved,
                }
            ]
    else:
        base = reverse("coaching:note_new", kwargs={"org": slug})
        for r in responses:
            out[r.pk] = [
                {"label": "Coach on this", "url": f"{base}?response={r.public_id}", "method": "get"}
            ]
    return out
