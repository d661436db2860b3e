"""The organization's QA settings (stored in ``Organization.settings``)."""

from __future__ import annotations

from django.db import transaction

from coachhub.tenancy.models import Organization

from ..settings import QA_DEFAULTS


@transaction.atomic
def qa_settings_update(organization: Organization, **values) -> None:
    org = Organization.objects.select_for_update().get(pk=organization.pk)
    merged = dict(org.settings or {})
    merged.update({k: v for k, v in values.items() if k in QA_DEFAULTS})
    Organization.objects.filter(pk=org.pk).update(settings=merged)
    organization.settings = merged
