"""``/api/v1/`` read endpoints of QA: scorecards (with their versions) and submitted reviews."""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from coachhub.tenancy.api import CURSOR, ERRORS, LIMIT, NOT_FOUND, TenantAPIView, since_param

from .. import selectors
from ..models import (
    Answer,
    Criterion,
    Dispute,
    Review,
    ReviewStatus,
    Scorecard,
    ScorecardTeam,
    ScorecardVersion,
    Section,
)
from . import serializers as s


def _decorate_cards(cards, organization, *, detail: bool):
    ids = [c.pk for c in cards]
    teams: dict = {}
    for link in ScorecardTeam.objects.filter(
        organization_id=organization.pk, scorecard_id__in=ids
    ).select_related("team"):
        teams.setdefault(link.scorecard_id, []).append(link.team.public_id)
    versions = list(
        ScorecardVersion.objects.filter(organization_id=organization.pk, scorecard_id__in=ids)
    )
    if detail:
        sections = list(
            Section.objects.filter(organization_id=organization.pk, version__in=versions)
        )
        criteria = list(
            Criterion.objects.filter(organization_id=organization.pk, version__in=versions)
        )
        for section in sections:
            section.criteria_list = [c for c in criteria if c.section_id == section.pk]
        for version in versions:
            version.section_list = [x for x in sections if x.version_id == version.pk]
    for card in cards:
        card.team_ids = teams.get(card.pk, [])
        card.version_list = [v for v in versions if v.scorecard_id == card.pk]
    return cards


class ScorecardListView(TenantAPIView):
    serializer_class = s.ScorecardOut

    def get_tenant_queryset(self):
        return Scorecard.objects.all()

    @extend_schema(
        summary="List QA scorecards",
        description="Every scorecard with a summary of its versions (draft, published, "
        "superseded). Reviews point at the exact version they were scored with.",
        parameters=[CURSOR, LIMIT],
        responses={200: s.ScorecardOut(many=True), **ERRORS},
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        cards = _decorate_cards(page, self.organization, detail=False)
        return self.get_paginated_response(s.ScorecardOut(cards, many=True).data)


class ScorecardDetailView(TenantAPIView):
    serializer_class = s.ScorecardDetailOut
    lookup_url_kwarg = "scorecard_id"

    def get_tenant_queryset(self):
        return Scorecard.objects.all()

    @extend_schema(
        summary="One QA scorecard with every version's sections and criteria",
        responses={200: s.ScorecardDetailOut, **ERRORS, **NOT_FOUND},
    )
    def get(self, request, scorecard_id):
        card = self.get_object()
        _decorate_cards([card], self.organization, detail=True)
        return Response(s.ScorecardDetailOut(card).data)


def _reviews(view):
    qs = Review.objects.filter(status=ReviewStatus.SUBMITTED).select_related(
        "interaction", "version__scorecard", "agent__user", "reviewer__user"
    )
    qs = selectors.with_final_score(qs, view.organization)
    return qs.annotate(
        dispute_state=Subquery(
            Dispute.objects.filter(
                organization_id=OuterRef("organization_id"), review_id=OuterRef("pk")
            ).values("status")[:1]
        )
    )


class ReviewListView(TenantAPIView):
    serializer_class = s.ReviewOut

    def get_tenant_queryset(self):
        return _reviews(self)

    @extend_schema(
        summary="List submitted QA reviews",
        description="Drafts are never listed. `since` filters on `updated_at`, which changes "
        "when a dispute decision changes a score, so a BI sync receives those too.",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="Updated at or after."),
            OpenApiParameter("agent", OpenApiTypes.UUID, description="Only this agent's reviews."),
            CURSOR,
            LIMIT,
        ],
        responses={200: s.ReviewOut(many=True), **ERRORS},
    )
    def get(self, request):
        qs = self.get_queryset()
        if since := since_param(request):
            qs = qs.filter(updated_at__gte=since)
        if agent := request.query_params.get("agent"):
            import uuid

            try:
                qs = qs.filter(agent__public_id=uuid.UUID(agent))
            except ValueError:
                raise exceptions.ValidationError(
                    {"agent": ["Use an agent's id (a UUID)."]}
                ) from None
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.ReviewOut(page, many=True).data)


class ReviewDetailView(TenantAPIView):
    serializer_class = s.ReviewDetailOut
    lookup_url_kwarg = "review_id"

    def get_tenant_queryset(self):
        return _reviews(self).prefetch_related(
            Prefetch("answers", queryset=Answer.objects.select_related("criterion__section"))
        )

    @extend_schema(
        summary="One submitted QA review with its answers",
        responses={200: s.ReviewDetailOut, **ERRORS, **NOT_FOUND},
    )
    def get(self, request, review_id):
        review = self.get_object()
        answers = sorted(
            review.answers.all(),
            key=lambda a: (
                a.criterion.section.position,
                a.criterion.section_id,
                a.criterion.position,
                a.criterion_id,
            ),
        )
        for a in answers:
            a.label = None if a.na or a.value is None else a.criterion.label_for(a.value)
        review.answer_list = answers
        return Response(s.ReviewDetailOut(review).data)
