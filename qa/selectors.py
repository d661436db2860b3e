"""QA reads and the access functions views use to fetch protected QA objects.

Who may do what:

* review: admins; members with the ``reviewer`` capability (any agent of the organization);
  supervisors (agents of the teams they lead). Nobody reviews themselves.
* see reviews: admins and reviewers see every submitted review; supervisors those of their
  teams' agents; an agent only their own submitted reviews; a draft only its reviewer.
* build scorecards: admins only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.http import Http404

from coachhub.tenancy.models import Membership, Role, TeamLead
from feedback.models import FeedbackRequest, Interaction, Mode, RequestKind, Response

from .models import (
    OPEN_DISPUTE_STATUSES,
    Criterion,
    Dispute,
    Review,
    ReviewStatus,
    Scorecard,
    ScorecardVersion,
    Section,
    VersionStatus,
)
from .settings import qa_setting

# --- capabilities --------------------------------------------------------------------------------


def can_review(member: Membership) -> bool:
    return member.is_admin or member.is_supervisor or member.is_reviewer


def sees_all_reviews(member: Membership) -> bool:
    return member.is_admin or member.is_reviewer


def can_review_agent(member: Membership, agent: Membership) -> bool:
    if member.pk == agent.pk or not can_review(member):
        return False
    if sees_all_reviews(member):
        return True
    return member.is_supervisor and agent.team_id in member.led_team_ids


def reviewable_agents(member: Membership) -> QuerySet[Membership]:
    qs = Membership.objects.filter(
        organization_id=member.organization_id, role=Role.AGENT, is_active=True
    ).select_related("user")
    if sees_all_reviews(member):
        return qs.exclude(pk=member.pk)
    if member.is_supervisor:
        return qs.filter(team_id__in=member.led_team_ids)
    return qs.none()


def _get(qs: QuerySet, public_id):
    try:
        return qs.get(public_id=public_id)
    except (qs.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404("No such page") from exc


# --- scorecards ----------------------------------------------------------------------------------


def scorecards_for(member: Membership) -> QuerySet[Scorecard]:
    return Scorecard.objects.filter(organization_id=member.organization_id)


def get_scorecard_for(member: Membership, public_id) -> Scorecard:
    return _get(scorecards_for(member), public_id)


def get_version_for(member: Membership, scorecard: Scorecard, public_id) -> ScorecardVersion:
    return _get(
        ScorecardVersion.objects.filter(
            organization_id=member.organization_id, scorecard=scorecard
        ),
        public_id,
    )


def get_section_for(member: Membership, public_id) -> Section:
    return _get(
        Section.objects.filter(organization_id=member.organization_id).select_related(
            "version__scorecard"
        ),
        public_id,
    )


def get_criterion_for(member: Membership, public_id) -> Criterion:
    return _get(
        Criterion.objects.filter(organization_id=member.organization_id).select_related(
            "section", "version__scorecard"
        ),
        public_id,
    )


def version_tree(version: ScorecardVersion) -> list[Section]:
    """Sections with their criteria prefetched, in order (two queries)."""
    sections = list(
        Section.objects.filter(organization_id=version.organization_id, version=version)
    )
    criteria = list(
        Criterion.objects.filter(organization_id=version.organization_id, version=version)
    )
    for section in sections:
        section.criteria_list = [c for c in criteria if c.section_id == section.pk]
    return sections


def versions_for_interaction(interaction: Interaction) -> QuerySet[ScorecardVersion]:
    """Published versions of active scorecards that apply to the interaction's channel and
    team (a card without limits applies everywhere)."""
    org_id = interaction.organization_id
    qs = ScorecardVersion.objects.filter(
        organization_id=org_id,
        status=VersionStatus.PUBLISHED,
        scorecard__archived_at__isnull=True,
    ).select_related("scorecard")
    qs = qs.filter(
        Q(scorecard__channels=[]) | Q(scorecard__channels__contains=[interaction.channel])
    )
    limited = Q(scorecard__team_links__isnull=False)
    if interaction.team_id:
        qs = qs.filter(~limited | Q(scorecard__team_links__team_id=interaction.team_id))
    else:
        qs = qs.filter(~limited)
    return qs.distinct().order_by("scorecard__name")


# --- interactions --------------------------------------------------------------------------------


def interactions_reviewable_by(member: Membership) -> QuerySet[Interaction]:
    qs = Interaction.objects.filter(organization_id=member.organization_id, mode=Mode.LIVE)
    if not can_review(member):
        return qs.none()
    if sees_all_reviews(member):
        return qs.exclude(agent=member)
    return qs.filter(Q(team_id__in=member.led_team_ids) | Q(agent__team_id__in=member.led_team_ids))


def get_interaction_for(member: Membership, public_id) -> Interaction:
    return _get(interactions_reviewable_by(member).select_related("agent__user", "team"), public_id)


def customer_response_of(interaction: Interaction) -> Response | None:
    """The interaction's confirmed, counted customer answer (initial survey)."""
    return (
        Response.objects.filter(
            organization_id=interaction.organization_id,
            interaction=interaction,
            request__kind=RequestKind.INITIAL,
            confirmed=True,
            excluded=False,
        )
        .order_by("-submitted_at")
        .first()
    )


def random_interaction_for(
    member: Membership, agent: Membership, *, now: datetime, days: int = 7
) -> Interaction | None:
    """Any interaction of ``agent`` from the last ``days`` days, surveyed or not."""
    return (
        interactions_reviewable_by(member)
        .filter(agent=agent, occurred_at__gte=now - timedelta(days=days), occurred_at__lte=now)
        .order_by("?")
        .first()
    )


# --- reviews -------------------------------------------------------------------------------------


def reviews_visible_to(member: Membership) -> QuerySet[Review]:
    org_id = member.organization_id
    qs = Review.objects.filter(organization_id=org_id)
    submitted = Q(status=ReviewStatus.SUBMITTED)
    mine = Q(reviewer=member)
    if sees_all_reviews(member):
        return qs.filter(submitted | mine)
    if member.is_supervisor:
        led = member.led_team_ids
        return qs.filter((submitted & (Q(team_id__in=led) | Q(agent__team_id__in=led))) | mine)
    return qs.filter((submitted & Q(agent=member)) | mine)


def get_review_for(member: Membership, public_id) -> Review:
    return _get(
        reviews_visible_to(member).select_related(
            "version__scorecard", "interaction", "agent__user", "reviewer__user", "team"
        ),
        public_id,
    )


def reviewer_visible(review: Review, viewer: Membership) -> bool:
    """The agent never learns a hidden reviewer's name; everyone else may."""
    return not (
        review.hide_reviewer and viewer.pk == review.agent_id and viewer.pk != review.reviewer_id
    )


def disputes_visible_to(member: Membership) -> QuerySet[Dispute]:
    reviews = reviews_visible_to(member).filter(status=ReviewStatus.SUBMITTED)
    return Dispute.objects.filter(
        organization_id=member.organization_id, review__in=reviews
    ).select_related("review__agent__user", "review__reviewer__user", "review__version__scorecard")


def get_dispute_for(member: Membership, public_id) -> Dispute:
    return _get(disputes_visible_to(member), public_id)


def leads_of(review: Review) -> list[Membership]:
    team_id = review.team_id or review.agent.team_id
    if team_id is None:
        return []
    return [
        lead.membership
        for lead in TeamLead.objects.filter(
            organization_id=review.organization_id, team_id=team_id
        ).select_related("membership__user")
        if lead.membership.is_active
    ]


def can_lead_decide(member: Membership, dispute: Dispute) -> bool:
    if member.is_admin:
        return True
    return any(lead.pk == member.pk for lead in leads_of(dispute.review))


def can_decide(member: Membership, dispute: Dispute) -> bool:
    return member.pk == dispute.review.reviewer_id or member.is_admin


def dispute_queue_for(member: Membership) -> QuerySet[Dispute]:
    """Open disputes this member has to act on."""
    qs = disputes_visible_to(member).filter(status__in=OPEN_DISPUTE_STATUSES)
    if member.is_admin:
        return qs
    led = member.led_team_ids if member.is_supervisor else frozenset()
    return qs.filter(
        Q(status="open", review__reviewer=member)
        | Q(status="awaiting_lead", review__team_id__in=led)
    )


# --- scores --------------------------------------------------------------------------------------


def _stars_subquery():
    return Subquery(
        Response.objects.filter(
            organization_id=OuterRef("organization_id"),
            interaction_id=OuterRef("interaction_id"),
            request__kind=RequestKind.INITIAL,
            confirmed=True,
            excluded=False,
            stars__isnull=False,
        )
        .order_by("-submitted_at")
        .values("stars")[:1]
    )


def with_final_score(qs: QuerySet[Review], organization) -> QuerySet[Review]:
    """Annotate ``stars`` (the interaction's customer rating) and ``final`` (the blended score,
    qa.scoring rule 5) in SQL, with the organization's current blend weight."""
    weight = Decimal(int(qa_setting(organization, "qa_blend_weight"))) / 100
    dec = DecimalField(max_digits=7, decimal_places=3)
    qs = qs.annotate(stars=_stars_subquery())
    if not weight:
        return qs.annotate(final=F("score"))
    blended = ExpressionWrapper(
        (Value(1) - Value(weight)) * F("score") + Value(weight) * (F("stars") - 1) * Value(25),
        output_field=dec,
    )
    return qs.annotate(
        final=Case(
            When(score__isnull=True, then=Value(None, output_field=dec)),
            When(failed=True, then=Value(Decimal(0), output_field=dec)),
            When(stars__isnull=True, then=F("score")),
            default=blended,
            output_field=dec,
        )
    )


def counted_reviews(organization) -> QuerySet[Review]:
    """Reviews that count toward scores: submitted, scorable, not coaching-only."""
    return Review.objects.filter(
        organization_id=organization.pk,
        status=ReviewStatus.SUBMITTED,
        coaching_only=False,
        scorable=True,
    )


def _bounds(organization, start, end) -> tuple[datetime, datetime]:
    """Dates are inclusive local days in the organization's time zone; datetimes are as given
    (end exclusive)."""
    tz = organization.tz
    if not isinstance(start, datetime):
        start = datetime.combine(start, time.min, tzinfo=tz)
    if not isinstance(end, datetime):
        end = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


@dataclass(frozen=True)
class QAScore:
    score: float | None  # None: no counted review in the period
    reviews: int
    blended: bool  # the organization blends customer ratings into it


def qa_score_for(agent: Membership, start: date | datetime, end: date | datetime) -> QAScore:
    """An agent's QA score for a period: the mean final % of counted reviews submitted in it
    (blended with customer ratings where the organization enables it; drafts, coaching-only
    and not-scorable reviews excluded). Recognition and coaching read QA through this."""
    from django.db.models import Avg, Count

    organization = agent.organization
    lo, hi = _bounds(organization, start, end)
    qs = counted_reviews(organization).filter(
        agent=agent, submitted_at__gte=lo, submitted_at__lt=hi
    )
    row = with_final_score(qs, organization).aggregate(avg=Avg("final"), n=Count("id"))
    weight = int(qa_setting(organization, "qa_blend_weight"))
    return QAScore(
        score=None if row["avg"] is None else round(float(row["avg"]), 1),
        reviews=row["n"],
        blended=weight > 0,
    )


# --- reports -------------------------------------------------------------------------------------


def weekly_scores(member: Membership, *, by: str, start: date, end: date) -> list[dict]:
    """Mean final %, review count and pass count per (week, ``by``) from one GROUP BY.
    ``by``: agent, team, reviewer or criterion (criteria use their own 0–100 % answers)."""
    from django.db.models import Avg, Count
    from django.db.models.functions import TruncWeek

    organization = member.organization
    lo, hi = _bounds(organization, start, end)
    baseline = Decimal(int(qa_setting(organization, "qa_pass_baseline")))
    visible = reviews_visible_to(member).values("pk")
    reviews = counted_reviews(organization).filter(
        submitted_at__gte=lo, submitted_at__lt=hi, pk__in=visible
    )
    if by == "criterion":
        from .models import Answer

        qs = (
            Answer.objects.filter(
                organization_id=organization.pk, review__in=reviews, percent__isnull=False
            )
            .annotate(week=TruncWeek("review__submitted_at", tzinfo=organization.tz))
            .values("week", "criterion__lineage")
            .annotate(
                mean=Avg("percent"),
                n=Count("id"),
                passed=Count("id", filter=Q(percent__gte=baseline)),
            )
            .order_by("week")
        )
        return [
            {
                "week": r["week"].date(),
                "key": r["criterion__lineage"],
                "mean": r["mean"],
                "n": r["n"],
                "passed": r["passed"],
            }
            for r in qs
        ]
    field = {"agent": "agent_id", "team": "team_id", "reviewer": "reviewer_id"}[by]
    qs = (
        with_final_score(reviews, organization)
        .annotate(week=TruncWeek("submitted_at", tzinfo=organization.tz))
        .values("week", field)
        .annotate(
            mean=Avg("final"), n=Count("id"), passed=Count("id", filter=Q(final__gte=baseline))
        )
        .order_by("week")
    )
    return [
        {
            "week": r["week"].date(),
            "key": r[field],
            "mean": r["mean"],
            "n": r["n"],
            "passed": r["passed"],
        }
        for r in qs
    ]


def pass_rate(member: Membership, *, start: date, end: date) -> dict:
    from django.db.models import Count

    organization = member.organization
    lo, hi = _bounds(organization, start, end)
    baseline = Decimal(int(qa_setting(organization, "qa_pass_baseline")))
    visible = reviews_visible_to(member).values("pk")
    qs = with_final_score(
        counted_reviews(organization).filter(
            submitted_at__gte=lo, submitted_at__lt=hi, pk__in=visible
        ),
        organization,
    )
    row = qs.aggregate(n=Count("id"), passed=Count("id", filter=Q(final__gte=baseline)))
    rate = row["passed"] / row["n"] * 100 if row["n"] else None
    return {"n": row["n"], "passed": row["passed"], "rate": rate, "baseline": int(baseline)}


def reviewer_leniency(member: Membership, *, start: date, end: date) -> list[dict]:
    """Per reviewer: their mean QA % minus the mean QA % others gave the *same agents* in the
    period (positive: more lenient). One SQL statement over counted reviews; the QA part only,
    since the customer part is not the reviewer's judgement."""
    organization = member.organization
    lo, hi = _bounds(organization, start, end)
    visible_sql, visible_params = reviews_visible_to(member).values("pk").query.sql_with_params()
    table = Review._meta.db_table
    sql = f"""
        WITH r AS (
            SELECT reviewer_id, agent_id, score
            FROM {table}
            WHERE organization_id = %s AND status = 'submitted' AND NOT coaching_only
              AND scorable AND submitted_at >= %s AND submitted_at < %s
              AND id IN ({visible_sql})
        ),
        own AS (
            SELECT reviewer_id, avg(score) AS mean, count(*) AS n FROM r GROUP BY reviewer_id
        ),
        others AS (
            SELECT a.reviewer_id, avg(b.score) AS mean, count(*) AS n
            FROM (SELECT DISTINCT reviewer_id, agent_id FROM r) a
            JOIN r b ON b.agent_id = a.agent_id AND b.reviewer_id <> a.reviewer_id
            GROUP BY a.reviewer_id
        )
        SELECT own.reviewer_id, own.mean, own.n, others.mean, others.n
        FROM own LEFT JOIN others ON others.reviewer_id = own.reviewer_id
        ORDER BY own.reviewer_id
    """  # noqa: S608 - table name from the model, values as parameters
    with connection.cursor() as cur:
        cur.execute(sql, [organization.pk, lo, hi, *visible_params])
        rows = cur.fetchall()
    return [
        {
            "reviewer_id": rid,
            "mean": own,
            "n": n,
            "others_mean": others,
            "others_n": others_n or 0,
            "leniency": (own - others) if others is not None else None,
        }
        for rid, own, n, others, others_n in rows
    ]


@dataclass(frozen=True)
class Correlation:
    lineage: object
    title: str
    n: int
    rho: float | None
    low: float | None
    high: float | None
    enough: bool


def fisher_interval(r: float, n: int, *, z_crit: float = 1.959964) -> tuple[float, float]:
    """95 % confidence interval of a Spearman correlation by Fisher's z with the Bonett–Wright
    standard error sqrt((1 + r²/2) / (n − 3)). Needs n > 3."""
    r = max(min(r, 0.999999), -0.999999)
    z = math.atanh(r)
    se = math.sqrt((1 + r * r / 2) / (n - 3))
    return math.tanh(z - z_crit * se), math.tanh(z + z_crit * se)


def criterion_correlations(member: Membership, *, start: date, end: date) -> list[Correlation]:
    """Per criterion (followed across versions by lineage): Spearman's ρ between its 0–100 %
    answers and the customer's stars on the same interactions, with n and a 95 % interval;
    "not enough data" under the organization's minimum n. Ranks (average ranks for ties) and
    the correlation are computed by Postgres: window functions and ``corr()``."""
    from .models import Answer

    organization = member.organization
    lo, hi = _bounds(organization, start, end)
    min_n = max(int(qa_setting(organization, "qa_correlation_min_n")), 4)
    visible_sql, visible_params = reviews_visible_to(member).values("pk").query.sql_with_params()
    sql = f"""
        WITH pairs AS (
            SELECT c.lineage, a.percent::float8 AS x, s.stars::float8 AS y
            FROM {Answer._meta.db_table} a
            JOIN {Review._meta.db_table} r ON r.id = a.review_id
            JOIN {Criterion._meta.db_table} c ON c.id = a.criterion_id
            JOIN LATERAL (
                SELECT resp.stars FROM {Response._meta.db_table} resp
                JOIN {FeedbackRequest._meta.db_table} req ON req.id = resp.request_id
                WHERE resp.organization_id = r.organization_id
                  AND resp.interaction_id = r.interaction_id
                  AND req.kind = 'initial' AND resp.confirmed AND NOT resp.excluded
                  AND resp.stars IS NOT NULL
                ORDER BY resp.submitted_at DESC LIMIT 1
            ) s ON true
            WHERE a.organization_id = %s AND a.percent IS NOT NULL
              AND r.status = 'submitted' AND NOT r.coaching_only
              AND r.submitted_at >= %s AND r.submitted_at < %s
              AND r.id IN ({visible_sql})
        ),
        ranked AS (
            SELECT lineage,
                   rank() OVER (PARTITION BY lineage ORDER BY x)
                     + (count(*) OVER (PARTITION BY lineage, x) - 1) / 2.0 AS rx,
                   rank() OVER (PARTITION BY lineage ORDER BY y)
                     + (count(*) OVER (PARTITION BY lineage, y) - 1) / 2.0 AS ry
            FROM pairs
        )
        SELECT lineage, count(*), corr(rx, ry) FROM ranked GROUP BY lineage
    """  # noqa: S608 - table names from the models, values as parameters
    with connection.cursor() as cur:
        cur.execute(sql, [organization.pk, lo, hi, *visible_params])
        rows = {lineage: (n, rho) for lineage, n, rho in cur.fetchall()}
    titles = dict(
        Criterion.objects.filter(organization_id=organization.pk)
        .order_by("lineage", "-version__number")
        .distinct("lineage")
        .values_list("lineage", "title")
    )
    out = []
    for lineage, title in sorted(titles.items(), key=lambda kv: kv[1].lower()):
        n, rho = rows.get(lineage, (0, None))
        enough = n >= min_n and rho is not None
        low = high = None
        if enough:
            low, high = fisher_interval(rho, n)
        out.append(Correlation(lineage, title, n, rho, low, high, enough))
    return out
