"""The customer's survey pages under /s/<token>/ (no sign-in; the token is the key).

The token resolves through ``GlobalLookup`` to (organization, request) before any organization
is known; everything after runs inside that organization's ``tenant_context``.

* GET never records anything (mail scanners open every link). The page a person loads confirms
  the star with one more request (htmx POST on load, or the "Continue" button without JS).
* Unknown token → 404; finished or expired → 410 "this survey is closed" in the customer's
  language; a signed-in member of the organization → 403.
* POSTs are rate limited per client address (Redis counter).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from coachhub.tenancy.context import tenant_context

from .models import RequestKind, SurveyState
from .services import survey as svc

log = logging.getLogger(__name__)

RATE_LIMIT_WINDOW = 60  # seconds


def rate_limit_per_minute() -> int:
    return int(getattr(settings, "SURVEY_RATE_LIMIT_PER_MINUTE", 60))


def _client_ip(request) -> str:
    # REMOTE_ADDR: behind a proxy the deployment sets it from its trusted header (gunicorn's
    # --forwarded-allow-ips); a client-sent X-Forwarded-For is never trusted here.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _rate_limited(request) -> bool:
    """Fixed one-minute window per client address; Redis down → allow (never a 500)."""
    limit = rate_limit_per_minute()
    if limit <= 0:
        return False
    key = f"survey-rl:{_client_ip(request)}:{int(time.time() // RATE_LIMIT_WINDOW)}"
    try:
        if cache.add(key, 1, RATE_LIMIT_WINDOW + 5):
            return False
        return cache.incr(key) > limit
    except Exception:
        log.warning("survey rate limit unavailable", exc_info=True)
        return False


def _secure(response: HttpResponse) -> HttpResponse:
    # The token is in the URL: never leak it through Referer, never let a search engine keep it.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _parse_int(value, lo: int, hi: int):
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if lo <= n <= hi else None


def _answers_from(post) -> dict:
    resolved = {"yes": True, "no": False}.get(post.get("resolved", ""))
    nps_raw = post.get("nps", "")
    nps = None
    if nps_raw != "":
        nps = _parse_int(nps_raw, 0, 10)
        if nps is None:
            nps = -1  # reported as invalid by the service
    return {
        "comment": post.get("comment", ""),
        "resolved": resolved,
        "nps": nps,
        "qualities": post.getlist("qualities"),
        "reward_tier": post.get("reward_tier", ""),
    }


class _Survey:
    """What a survey page needs, loaded inside the organization's context."""

    def __init__(self, fr, token: str):
        self.token = token
        self.request = fr
        self.organization = fr.organization
        self.interaction = fr.interaction
        self.language = svc.language_for(self.interaction, self.organization)

    def context(
        self,
        *,
        pending_stars=None,
        errors=None,
        posted=None,
        posted_stars=None,
        response=False,
        **extra,
    ) -> dict:
        org = self.organization
        if response is False:  # not handed over by the caller (None: there is none)
            response = svc.response_of(self.request)
        stars = response.stars if response else None
        if posted is not None and posted_stars in range(1, 6):
            # A refused answer is shown as the customer sent it, questions and all.
            stars = posted_stars
        shown_stars = pending_stars or stars
        enabled = set(svc.org_setting(org, "survey_questions") or [])
        values = {
            "comment": response.comment if response else "",
            "resolved": response.resolved if response else None,
            "nps": response.nps if response else None,
            "qualities": list(response.qualities) if response else [],
            "reward_tier": response.reward_tier if response else "",
        }
        if posted is not None:
            values.update(posted)
        brand = svc.brand_color(org)
        return {
            "token": self.token,
            "organization": org,
            "brand": brand,
            "brand_text": svc.text_on(brand),
            "agent": svc.agent_card(self.interaction.agent),
            "survey": self.request,
            "response": response,
            "confirmed": response is not None or (posted is not None and stars is not None),
            "stars": shown_stars,
            "pending_stars": pending_stars if pending_stars and pending_stars != stars else None,
            "star_range": range(1, 6),
            "enabled": enabled,
            "qualities": svc.quality_choices(org, stars),
            "reward": svc.reward_asked(org, stars),
            "reward_tiers": svc.REWARD_TIERS,
            "nps_range": range(0, 11),
            "values": values,
            "errors": errors or {},
            "max_comment": svc.MAX_COMMENT,
            "is_recovery": self.request.kind == RequestKind.RECOVERY,
            **extra,
        }


def _resolve(token: str):
    found = svc.token_resolve(token)
    if found is None:
        raise Http404("No such survey")
    return found


def _render(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    return _secure(render(request, template, context, status=status))


@never_cache
# No CSRF check: nothing here acts on ambient credentials (the secret is the token in the URL,
# which a forging site would need anyway; a signed-in session only ever *refuses* an answer),
# and customers answer from mail apps' in-app browsers that may drop cookies.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def survey_page(request, token: str):
    org_id, request_id = _resolve(token)
    with tenant_context(org_id):
        # A POST locks the row at once: the answer serializes with other clicks and sweeps.
        posting = request.method == "POST"
        fr = svc.request_for_token(org_id, request_id, token, for_update=posting)
        if fr is None:
            raise Http404("No such survey")
        page = _Survey(fr, token)
        with translation.override(page.language):
            return _survey_page(request, token, page)


def _survey_page(request, token: str, page: _Survey) -> HttpResponse:
    fr = page.request
    if svc.is_member_of(request.user, fr.organization_id):
        return _render(request, "feedback/survey/member.html", page.context(), status=403)
    if svc.survey_is_closed(fr) or fr.survey_state not in (SurveyState.SENT, SurveyState.ANSWERED):
        return _render(request, "feedback/survey/closed.html", page.context(), status=410)

    if request.method == "GET":
        pending = _parse_int(request.GET.get("stars"), 1, 5)
        return _render(request, "feedback/survey/page.html", page.context(pending_stars=pending))

    if _rate_limited(request):
        return _render(request, "feedback/survey/rate_limited.html", page.context(), status=429)
    action = request.POST.get("action", "save")
    stars = _parse_int(request.POST.get("stars"), 1, 5)
    if request.POST.get("stars") and stars is None:
        stars = -1  # reported as invalid by the service
    answers = None if action == "confirm" else _answers_from(request.POST)
    try:
        response = svc.survey_answer_record(
            fr, stars=stars, answers=answers, finish=action == "finish", locked=True
        )
    except svc.SurveyClosed:
        return _render(request, "feedback/survey/closed.html", page.context(), status=410)
    except svc.SurveyInvalid as exc:
        posted = answers or {}
        template = "feedback/survey/_form.html" if request.htmx else "feedback/survey/page.html"
        return _render(
            request,
            template,
            page.context(errors=exc.errors, posted=posted, posted_stars=stars),
            status=400,
        )
    if action == "finish":
        template = "feedback/survey/_thanks.html" if request.htmx else "feedback/survey/thanks.html"
        return _render(request, template, page.context(response=response))
    if request.htmx:
        if action == "save":
            return _secure(HttpResponse(status=204))
        return _render(
            request, "feedback/survey/_form.html", page.context(saved=True, response=response)
        )
    return _secure(redirect("survey:page", token=token))


@never_cache
@csrf_exempt  # RFC 8058 one-click: the mail provider POSTs without our CSRF cookie
@require_http_methods(["GET", "POST"])
def survey_unsubscribe(request, token: str):
    org_id, request_id = _resolve(token)
    with tenant_context(org_id):
        fr = svc.request_for_token(org_id, request_id, token)
        if fr is None:
            raise Http404("No such survey")
        page = _Survey(fr, token)
        with translation.override(page.language):
            if request.method == "GET":
                # A scanner's GET must not unsubscribe anyone: the page asks for a click.
                return _render(request, "feedback/survey/unsubscribe.html", page.context())
            if _rate_limited(request):
                return _render(
                    request, "feedback/survey/rate_limited.html", page.context(), status=429
                )
            svc.survey_unsubscribe(fr)
            return _render(
                request, "feedback/survey/unsubscribe.html", page.context(unsubscribed=True)
            )
