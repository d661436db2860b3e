"""QA reports (staff and reviewers): weekly scores per agent, team, criterion and reviewer, the
pass rate against the organization's baseline, reviewer leniency and the criterion ↔ customer
stars correlation. Every number comes from SQL aggregates (qa.selectors)."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone

from coachhub.tenancy.models import Membership, Team

from .. import selectors
from ..models import Criterion
from ..settings import qa_setting

DIMENSIONS = {"agent": "Agent", "team": "Team", "criterion": "Criterion", "reviewer": "Reviewer"}


def _staff_or_reviewer(request):
    member = request.member
    if not (member.is_admin or member.is_supervisor or member.is_reviewer):
        raise PermissionDenied("Your role has no QA reports.")


def _period(request):
    today = timezone.localdate(timezone=request.organization.tz)
    try:
        weeks = min(max(int(request.GET.get("weeks", 8)), 1), 52)
    except ValueError:
        weeks = 8
    start = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    return weeks, start, today


def _labels(org_id, by: str, keys: set) -> dict:
    if by == "team":
        return dict(
            Team.objects.filter(organization_id=org_id, pk__in=keys).values_list("pk", "name")
        )
    if by == "criterion":
        rows = (
            Criterion.objects.filter(organization_id=org_id, lineage__in=keys)
            .order_by("lineage", "-version__number")
            .distinct("lineage")
            .values_list("lineage", "title")
        )
        return dict(rows)
    people = Membership.objects.filter(organization_id=org_id, pk__in=keys).select_related("user")
    return {m.pk: m.display_name for m in people}


def qa_reports(request, org):
    _staff_or_reviewer(request)
    by = request.GET.get("by", "agent")
    if by not in DIMENSIONS:
        by = "agent"
    weeks, start, end = _period(request)
    member = request.member
    rows = selectors.weekly_scores(member, by=by, start=start, end=end)
    week_list = [start + timedelta(weeks=i) for i in range(weeks)]
    labels = _labels(request.organization.pk, by, {r["key"] for r in rows if r["key"] is not None})
    table: dict = {}
    for r in rows:
        key = r["key"]
        entry = table.setdefault(
            key, {"label": labels.get(key, "No team" if key is None else "?"), "cells": {}, "n": 0}
        )
        entry["cells"][r["week"]] = r
        entry["n"] += r["n"]
        entry["passed"] = entry.get("passed", 0) + r["passed"]
    table_rows = sorted(table.values(), key=lambda e: str(e["label"]).lower())
    for entry in table_rows:
        entry["row"] = [entry["cells"].get(w) for w in week_list]
        entry["pass_rate"] = entry["passed"] / entry["n"] * 100 if entry["n"] else None
    leniency = selectors.reviewer_leniency(member, start=start, end=end)
    names = _labels(request.organization.pk, "reviewer", {r["reviewer_id"] for r in leniency})
    for r in leniency:
        r["name"] = names.get(r["reviewer_id"], "?")
    return render(
        request,
        "qa/reports.html",
        {
            "by": by,
            "dimensions": DIMENSIONS,
            "weeks": weeks,
            "week_list": week_list,
            "rows": table_rows,
            "pass": selectors.pass_rate(member, start=start, end=end),
            "leniency": leniency,
            "start": start,
            "end": end,
            "blend_weight": int(qa_setting(request.organization, "qa_blend_weight")),
        },
    )


def qa_correlation(request, org):
    _staff_or_reviewer(request)
    weeks, start, end = _period(request)
    return render(
        request,
        "qa/correlation.html",
        {
            "rows": selectors.criterion_correlations(request.member, start=start, end=end),
            "weeks": weeks,
            "start": start,
            "end": end,
            "min_n": max(int(qa_setting(request.organization, "qa_correlation_min_n")), 4),
        },
    )
