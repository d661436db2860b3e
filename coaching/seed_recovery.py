"""seed_demo step for service recovery: cases on the last weeks' low ratings in every state
(new, claimed, contacted, follow-up survey sent, recovered, not recovered, closed), worked by
the organization's admin (and a recovery specialist flag on one agent). Sends nothing: the
follow-up surveys of seeded cases are recorded as already sent. Idempotent: only when the
organization has no case yet. (The digest needs no seed: its preview page reads the seeded
history.)"""

from __future__ import annotations

from datetime import timedelta

from coachhub.core.seed import DemoOrg, seed_step
from feedback.models import (
    FeedbackRequest,
    Mode,
    RequestKind,
    RequestStatus,
    Response,
    SurveyState,
)

from .models_recovery import CaseState, RecoveryCase, RecoveryTransition
from .services import recovery as svc

PLAN = [
    (),
    (CaseState.CLAIMED,),
    (CaseState.CLAIMED, CaseState.CONTACTED),
    (CaseState.CLAIMED, CaseState.CONTACTED, CaseState.SURVEY_SENT),
    (CaseState.CLAIMED, CaseState.CONTACTED, CaseState.SURVEY_SENT, CaseState.RECOVERED),
    (CaseState.CLAIMED, CaseState.CONTACTED, CaseState.RECOVERED),
    (CaseState.CLAIMED, CaseState.CONTACTED, CaseState.SURVEY_SENT, CaseState.NOT_RECOVERED),
    (CaseState.CLOSED,),
]
NOTES = {
    CaseState.CLAIMED: "Taking this one.",
    CaseState.CONTACTED: "Called the customer, apologised and fixed the order.",
    CaseState.SURVEY_SENT: "Sent the follow-up survey.",
    CaseState.RECOVERED: "Customer is happy again.",
    CaseState.NOT_RECOVERED: "Customer still unhappy; escalated to billing.",
    CaseState.CLOSED: "Duplicate of another ticket.",
}


@seed_step("service recovery cases", order=75)
def recovery_demo(demo: DemoOrg) -> None:
    org = demo.organization
    if RecoveryCase.objects.filter(organization=org).exists() or demo.admin is None:
        return
    if demo.agents and not any(a.is_recovery for a in demo.agents):
        specialist = demo.agents[-1]
        specialist.is_recovery = True
        specialist.save(update_fields=["is_recovery"])
    worker = demo.admin
    low = list(
        Response.objects.filter(
            organization=org,
            confirmed=True,
            stars__lte=2,
            interaction__mode=Mode.LIVE,
            request__kind=RequestKind.INITIAL,
            submitted_at__gte=demo.now - timedelta(days=20),
        ).order_by("-submitted_at")[: len(PLAN) * 2]
    )
    for i, response in enumerate(low):
        steps = PLAN[i % len(PLAN)]
        opened = response.submitted_at + timedelta(minutes=70)
        case, created = svc.case_open(
            response, reason=f"{response.stars} star(s) (rule: 2 or fewer)", now=opened
        )
        if not created:
            continue
        at = opened
        for to in steps:
            at += timedelta(hours=demo.rng.randint(1, 20))
            if to == CaseState.SURVEY_SENT:
                fr = FeedbackRequest.objects.create(
                    organization=org, interaction_id=case.interaction_id,
                    kind=RequestKind.RECOVERY, status=RequestStatus.SENT,
                    survey_state=SurveyState.SENT, send_after=at, sent_at=at,
                    expires_at=at + timedelta(days=14), created_at=at, updated_at=at,
                )  # fmt: skip
                RecoveryCase.objects.filter(pk=case.pk).update(
                    state=to, follow_up=fr, updated_at=at
                )
                RecoveryTransition.objects.create(
                    organization=org, case=case, from_state=CaseState.CONTACTED, to_state=to,
                    by=worker, note=NOTES[to], at=at,
                )  # fmt: skip
                case.refresh_from_db()
                continue
            case = svc.case_transition(case, to, by=worker, note=NOTES[to], now=at)
        if CaseState.SURVEY_SENT in steps and steps[-1] in (
            CaseState.RECOVERED,
            CaseState.NOT_RECOVERED,
        ):
            stars = demo.rng.choice([4, 5]) if steps[-1] == CaseState.RECOVERED else 2
            RecoveryCase.objects.filter(pk=case.pk).update(follow_up_stars=stars)
    demo.log(f"  {len(low)} recovery cases")
