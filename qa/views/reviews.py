"""Review and dispute pages: start a review (interaction page, response, alert or at random),
fill the draft (autosaved with htmx), submit, read, dispute, decide."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from .. import hooks, scoring, selectors
from ..models import Answer, DisputeStatus, ReviewEvent, ReviewSource, ReviewStatus
from ..services import disputes as dispute_svc
from ..services import reviews as review_svc
from ..services.disputes import answer_label
from ..settings import qa_setting


def _reviewer_required(request):
    if not selectors.can_review(request.member):
        raise PermissionDenied("Your role cannot review.")


# --- lists ---------------------------------------------------------------------------------------


def qa_home(request, org):
    member = request.member
    qs = selectors.reviews_visible_to(member).select_related(
        "agent__user", "reviewer__user", "version__scorecard", "interaction"
    )
    status = request.GET.get("status", "")
    if status in ReviewStatus.values:
        qs = qs.filter(status=status)
    reviews = list(qs.order_by("-updated_at")[:100])
    for review in reviews:
        review.show_reviewer = selectors.reviewer_visible(review, member)
    context = {
        "reviews": reviews,
        "status": status,
        "can_review": selectors.can_review(member),
        "agents": list(selectors.reviewable_agents(member)) if selectors.can_review(member) else [],
        "queue_count": selectors.dispute_queue_for(member).count()
        if not member.is_agent or member.is_reviewer
        else 0,
    }
    if member.is_agent:
        today = timezone.localdate(timezone=request.organization.tz)
        context["my_score"] = selectors.qa_score_for(member, today - timedelta(days=29), today)
    return render(request, "qa/home.html", context)


@require_POST
def review_random(request, org):
    """ "Review a random interaction": any interaction of the agent from the last 7 days."""
    _reviewer_required(request)
    agents = selectors.reviewable_agents(request.member)
    try:
        agent = agents.get(public_id=request.POST.get("agent"))
    except (agents.model.DoesNotExist, ValueError, ValidationError):
        messages.error(request, "Choose an agent you may review.")
        return redirect("qa:home", org=org)
    interaction = selectors.random_interaction_for(request.member, agent, now=timezone.now())
    if interaction is None:
        messages.warning(request, f"{agent.display_name} has no interaction in the last 7 days.")
        return redirect("qa:home", org=org)
    return redirect(
        f"{_url('qa:interaction', org, interaction_id=interaction.public_id)}?source=random"
    )


def _url(name, org, **kwargs):
    from django.urls import reverse

    return reverse(name, kwargs={"org": org, **kwargs})


def interaction_page(request, org, interaction_id):
    """The interaction as QA sees it: what happened, the customer's answer, its reviews and
    "start a review". Response cards and alerts link here with ``?source=response|alert``."""
    _reviewer_required(request)
    interaction = selectors.get_interaction_for(request.member, interaction_id)
    source = request.GET.get("source", ReviewSource.INTERACTION)
    if source not in ReviewSource.values:
        source = ReviewSource.INTERACTION
    reviews = list(
        selectors.reviews_visible_to(request.member)
        .filter(interaction=interaction)
        .select_related("reviewer__user", "version__scorecard")
    )
    return render(
        request,
        "qa/interaction.html",
        {
            "interaction": interaction,
            "response": selectors.customer_response_of(interaction),
            "reviews": reviews,
            "versions": list(selectors.versions_for_interaction(interaction)),
            "source": source,
            "can_review_agent": selectors.can_review_agent(request.member, interaction.agent),
        },
    )


@require_POST
def review_start(request, org, interaction_id):
    _reviewer_required(request)
    interaction = selectors.get_interaction_for(request.member, interaction_id)
    version = (
        selectors.versions_for_interaction(interaction)
        .filter(public_id__in=[v for v in [request.POST.get("version")] if _is_uuid(v)])
        .first()
    )
    if version is None:
        messages.error(request, "Choose a published scorecard that applies to this interaction.")
        return redirect("qa:interaction", org=org, interaction_id=interaction.public_id)
    try:
        review = review_svc.review_start(
            reviewer=request.member,
            interaction=interaction,
            version=version,
            source=request.POST.get("source", ReviewSource.INTERACTION),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("qa:interaction", org=org, interaction_id=interaction.public_id)
    return redirect("qa:review_detail", org=org, review_id=review.public_id)


def _is_uuid(value) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- one review ----------------------------------------------------------------------------------


def _answers(review):
    answers = list(
        Answer.objects.filter(organization_id=review.organization_id, review=review).select_related(
            "criterion__section"
        )
    )
    answers.sort(
        key=lambda a: (
            a.criterion.section.position,
            a.criterion.section_id,
            a.criterion.position,
            a.criterion_id,
        )
    )
    return answers


def _sections(answers, result, titles):
    """Sections in order, each with its result, what zeroed it and its answers."""
    out = []
    for answer in answers:
        section = answer.criterion.section
        if not out or out[-1]["section"].pk != section.pk:
            sres = result.sections.get(section.pk)
            out.append(
                {
                    "section": section,
                    "percent": scoring.rounded(sres.percent) if sres else None,
                    "failed_by": [titles[k] for k in sres.failed_by] if sres else [],
                    "answers": [],
                }
            )
        out[-1]["answers"].append(answer)
    return out


def _review_context(request, review, *, errors=None, posted=None):
    viewer = request.member
    review.organization = request.organization  # same row (access function); saves queries
    answers = _answers(review)
    if posted is not None:  # redisplay what was typed after a failed submit
        for answer in answers:
            raw, comment = posted["answers"].get(str(answer.criterion.public_id), ("", ""))
            answer.raw = raw
            answer.comment = comment
    result = review_svc.score_answers(answers)
    response = selectors.customer_response_of(review.interaction)
    stars = response.stars if response else None
    weight = int(qa_setting(review.organization, "qa_blend_weight"))
    final = scoring.blend(result.percent, stars, weight, failed=result.failed)
    failed_titles = {
        a.criterion_id: a.criterion.title for a in answers if result.criteria[a.criterion_id].failed
    }
    dispute = review.disputes.select_related("raised_by__user").prefetch_related("items").first()
    disputed_ids = {i.criterion_id for i in dispute.items.all()} if dispute else set()
    errors = errors or {}
    for answer in answers:
        cres = result.criteria[answer.criterion_id]
        answer.pct = scoring.rounded(cres.percent)
        answer.failed = cres.failed
        answer.disputed = answer.criterion_id in disputed_ids or bool(
            dispute and dispute.whole_review
        )
        answer.error = errors.get(f"c-{answer.criterion.public_id}", [""])[0] if errors else ""
        if not hasattr(answer, "raw"):
            answer.raw = "na" if answer.na else ("" if answer.value is None else str(answer.value))
        answer.current = answer_label(answer)
    events = list(
        ReviewEvent.objects.filter(
            organization_id=review.organization_id, review=review
        ).select_related("actor__user", "criterion")
    )
    show_reviewer = selectors.reviewer_visible(review, viewer)
    if not show_reviewer:
        for event in events:
            if event.actor_id == review.reviewer_id:
                event.hidden_actor = True
    editing = review.is_draft and viewer.pk == review.reviewer_id
    return {
        "review": review,
        "answers": answers,
        "sections": _sections(answers, result, failed_titles),
        "result": result,
        "percent": scoring.rounded(result.percent),
        "final": scoring.rounded(final),
        "weight": weight,
        "stars": stars,
        "customer_percent": scoring.rounded(scoring.customer_percent(stars)) if stars else None,
        "response": response,
        "contract": scoring.CONTRACT,
        "failed_review_by": [failed_titles[k] for k in result.failed_by],
        "show_reviewer": show_reviewer,
        "editing": editing,
        "errors": errors,
        "general_errors": errors.get("__all__", [])
        + [m for k, v in errors.items() if not k.startswith("c-") and k != "__all__" for m in v],
        "dispute": dispute,
        "events": events,
        "can_dispute": dispute_svc.can_dispute(review, viewer),
        "dispute_deadline": dispute_svc.dispute_deadline(review),
        "can_lead_decide": bool(
            dispute
            and dispute.status == DisputeStatus.AWAITING_LEAD
            and selectors.can_lead_decide(viewer, dispute)
        ),
        "can_decide": bool(
            dispute
            and dispute.status == DisputeStatus.OPEN
            and selectors.can_decide(viewer, dispute)
        ),
        "actions": hooks.review_actions(review, viewer) if not review.is_draft else [],
        "baseline": int(qa_setting(review.organization, "qa_pass_baseline")),
    }


def review_detail(request, org, review_id):
    review = selectors.get_review_for(request.member, review_id)
    context = _review_context(request, review)
    template = "qa/review_form.html" if context["editing"] else "qa/review_detail.html"
    return render(request, template, context)


def _posted(request, review) -> dict:
    criteria = review.version.criteria.values_list("public_id", flat=True)
    return {
        "answers": {
            str(pid): (request.POST.get(f"c-{pid}", ""), request.POST.get(f"comment-{pid}", ""))
            for pid in criteria
        },
        "overall_comment": request.POST.get("overall_comment", ""),
        "coaching_only": bool(request.POST.get("coaching_only")),
        "hide_reviewer": bool(request.POST.get("hide_reviewer")),
    }


def _own_draft(request, review_id):
    review = selectors.get_review_for(request.member, review_id)
    if review.reviewer_id != request.member.pk:
        raise Http404("No such page")
    if not review.is_draft:
        raise PermissionDenied("This review is submitted: only a dispute can change it.")
    return review


@require_POST
def review_autosave(request, org, review_id):
    review = _own_draft(request, review_id)
    posted = _posted(request, review)
    try:
        review_svc.review_autosave(review, posted)
        error = ""
    except ValidationError as exc:
        error = " ".join(exc.messages)
    context = _review_context(request, review)
    context["saved_at"] = timezone.now()
    context["autosave_error"] = error
    return render(request, "qa/_score_panel.html", context)


@require_POST
def review_submit(request, org, review_id):
    review = _own_draft(request, review_id)
    posted = _posted(request, review)
    try:
        review_svc.review_submit(review, posted)
    except ValidationError as exc:
        context = _review_context(request, review, errors=_errors(exc), posted=posted)
        return render(request, "qa/review_form.html", context, status=400)
    messages.success(request, "Review submitted; the agent has been notified.")
    return redirect("qa:review_detail", org=org, review_id=review.public_id)


@require_POST
def review_discard(request, org, review_id):
    review = _own_draft(request, review_id)
    interaction_id = review.interaction.public_id
    review_svc.review_discard(review)
    messages.success(request, "Draft discarded.")
    return redirect("qa:interaction", org=org, interaction_id=interaction_id)


def _errors(exc: ValidationError) -> dict:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


# --- disputes ------------------------------------------------------------------------------------


def dispute_new(request, org, review_id):
    review = selectors.get_review_for(request.member, review_id)
    if review.agent_id != request.member.pk:
        raise PermissionDenied("Only the reviewed agent can dispute a review.")
    context = _review_context(request, review)
    if request.method == "POST":
        ids = set(request.POST.getlist("criteria"))
        criteria = [a.criterion for a in context["answers"] if str(a.criterion.public_id) in ids]
        try:
            dispute_svc.dispute_open(
                review,
                agent=request.member,
                reason=request.POST.get("reason", ""),
                whole_review=request.POST.get("scope") == "whole",
                criteria=criteria,
            )
        except ValidationError as exc:
            context = _review_context(request, review, errors=_errors(exc))
            context["posted"] = request.POST
            return render(request, "qa/dispute_form.html", context, status=400)
        messages.success(request, "Dispute sent. You will be notified of the decision.")
        return redirect("qa:review_detail", org=org, review_id=review.public_id)
    if not context["can_dispute"]:
        raise PermissionDenied(
            "This review cannot be disputed (window closed or already disputed)."
        )
    return render(request, "qa/dispute_form.html", context)


def dispute_list(request, org):
    member = request.member
    qs = selectors.disputes_visible_to(member).annotate(n_items=Count("items"))
    queue = selectors.dispute_queue_for(member).values_list("pk", flat=True)
    disputes = list(qs.order_by("-created_at")[:200])
    queue_ids = set(queue)
    for d in disputes:
        d.show_reviewer = selectors.reviewer_visible(d.review, member)
    return render(
        request,
        "qa/dispute_list.html",
        {"disputes": disputes, "queue_ids": queue_ids},
    )


@require_POST
def dispute_lead(request, org, dispute_id):
    dispute = selectors.get_dispute_for(request.member, dispute_id)
    try:
        dispute_svc.dispute_lead_decide(
            dispute,
            lead=request.member,
            approve=request.POST.get("approve") == "1",
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Decision recorded.")
    return redirect("qa:review_detail", org=org, review_id=dispute.review.public_id)


def dispute_decide(request, org, dispute_id):
    dispute = selectors.get_dispute_for(request.member, dispute_id)
    review = dispute.review
    if not selectors.can_decide(request.member, dispute):
        raise PermissionDenied("Only the reviewer (or an admin) decides a dispute.")
    context = _review_context(request, review)
    if request.method == "POST":
        changes = {
            str(a.criterion.public_id): request.POST.get(f"c-{a.criterion.public_id}", "")
            for a in context["answers"]
        }
        # An unchanged choice is "no change": keep only what differs from the stored answer.
        for a in context["answers"]:
            key = str(a.criterion.public_id)
            current = "na" if a.na else ("" if a.value is None else str(a.value))
            if changes.get(key) == current:
                changes[key] = ""
        try:
            dispute_svc.dispute_decide(
                dispute,
                decider=request.member,
                outcome=request.POST.get("outcome", ""),
                reason=request.POST.get("reason", ""),
                changes=changes,
            )
        except ValidationError as exc:
            context = _review_context(request, review, errors=_errors(exc))
            context["posted"] = request.POST
            # Criteria not on the form (not disputed) still get their error said aloud.
            context["general_errors"] += [
                f"“{a.criterion.title}”: {a.error}"
                for a in context["answers"]
                if a.error and not a.disputed
            ]
            return render(request, "qa/dispute_decide.html", context, status=400)
        messages.success(request, "Decision recorded; the agent has been notified.")
        return redirect("qa:review_detail", org=org, review_id=review.public_id)
    if dispute.status != DisputeStatus.OPEN:
        messages.info(request, "This dispute is not waiting for a decision.")
        return redirect("qa:review_detail", org=org, review_id=review.public_id)
    return render(request, "qa/dispute_decide.html", context)
