"""Digest tasks (registered from CoachingConfig.ready via recovery_wiring): beat's fan-out and one
independent task per organization."""

from celery import shared_task

from coachhub.tenancy.tasks import RETRY_DEFAULTS


@shared_task(name="coaching.digests_fan_out", acks_late=False)
def digests_fan_out_task() -> int:
    """Beat, every few minutes: one ``coaching.digests_org`` per organization whose digest time
    has come. Running twice is harmless (rows are unique; sends lock their row)."""
    from .services.digest import organizations_due

    org_ids = organizations_due()
    for org_id in org_ids:
        digests_org_task.apply_async(kwargs={"organization_id": org_id})
    return len(org_ids)


@shared_task(name="coaching.digests_org", **RETRY_DEFAULTS)
def digests_org_task(*, organization_id: int) -> dict:
    # Not a TenantTask: each digest commits on its own (services/digest.py enters the org).
    from .services.digest import digests_run

    return digests_run(organization_id)
