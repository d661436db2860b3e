"""System checks for conventions that keep tenants apart."""

from django.core.checks import Error, register


@register()
def tenant_models_have_no_auto_m2m(app_configs, **kwargs):
    from django.apps import apps

    from coachhub.tenancy.models import TenantModel

    errors = []
    for model in apps.get_models():
        if not issubclass(model, TenantModel):
            continue
        for field in model._meta.local_many_to_many:
            if field.remote_field.through._meta.auto_created:
                errors.append(
                    Error(
                        f"{model.__name__}.{field.name} uses an auto-created join table without "
                        "an organization column; use an explicit TenantModel through model.",
                        id="coachhub.E001",
                    )
                )
    return errors
