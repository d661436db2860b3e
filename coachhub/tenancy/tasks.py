"""The Celery base task for tenant work: it re-enters the organization from an explicit id."""

from celery import Task

from .context import tenant_context

RETRY_DEFAULTS = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": 5,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
}


class TenantTask(Task):
    """Runs the task body inside ``tenant_context(organization_id)``.

    ``organization_id`` must be passed as a keyword: a task that forgets it is refused rather
    than run unscoped.
    """

    abstract = True

    def __call__(self, *args, **kwargs):
        org_id = kwargs.get("organization_id")
        if not isinstance(org_id, int) or isinstance(org_id, bool):
            raise TypeError(f"{self.name} needs organization_id=<int> as a keyword argument")
        with tenant_context(org_id):
            return self.run(*args, **kwargs)
