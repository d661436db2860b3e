"""Beat task of formal coaching: remind supervisors of 1:1 follow-ups that became due and decide
goals that were met or whose due date passed (each records its event once)."""

from celery import shared_task


@shared_task(name="coaching.sessions_sweep", acks_late=False)
def sessions_sweep_task() -> dict:
    from coachhub.tenancy.context import tenant_context
    from coachhub.tenancy.models import Organization

    from .services.goals import goals_evaluate
    from .services.sessions import session_follow_ups_remind

    reminded = decided = 0
    for org_id in Organization.objects.filter(is_active=True).values_list("id", flat=True):
        with tenant_context(org_id):
            reminded += session_follow_ups_remind(org_id)
        with tenant_context(org_id):
            decided += goals_evaluate(org_id)
    return {"reminded": reminded, "decided": decided}
