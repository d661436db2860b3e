"""Django admin for the platform operator (/platform/).

Organizations are the only top-level tenant objects here. Their people, teams and keys are shown
read-only on the organization's page, rendered inside that organization's context (scope + RLS):
the admin never runs a tenant query without an organization, and it cannot edit or delete tenant
rows (customers' admins do that in the product, with its rules). Organizations are deactivated,
not deleted: deleting one would erase its customers' history.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction

from coachhub.accounts import emails, services
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import ApiKey, Membership, Organization, Role, Team

admin.site.site_header = "CoachHub platform"
admin.site.site_title = "CoachHub platform"
admin.site.index_title = "Operator console"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TeamInline(ReadOnlyInline):
    model = Team
    fields = readonly_fields = ("name", "created_at")


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = readonly_fields = (
        "user",
        "role",
        "team",
        "is_reviewer",
        "is_recovery",
        "is_active",
        "created_at",
    )
    verbose_name_plural = "People"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "team")


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = readonly_fields = (
        "name",
        "prefix",
        "mode",
        "created_at",
        "last_used_at",
        "revoked_at",
    )


class OrganizationAddForm(forms.ModelForm):
    first_admin_email = forms.EmailField(
        required=False,
        help_text="Optional: invite this person as its first admin (they get an e-mail link).",
    )

    class Meta:
        model = Organization
        fields = ["slug", "name", "time_zone", "language"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "time_zone", "language", "is_active", "created_at")
    list_filter = ("is_active", "language")
    search_fields = ("name", "slug")
    ordering = ("name",)
    actions = ["deactivate", "reactivate"]
    inlines = [TeamInline, MembershipInline, ApiKeyInline]
    fields = ("slug", "name", "time_zone", "language", "brand_color", "is_active", "settings")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = OrganizationAddForm
            kwargs["fields"] = OrganizationAddForm.Meta.fields + ["first_admin_email"]
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return [*OrganizationAddForm.Meta.fields, "first_admin_email"]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return ("slug",) if obj is not None else ()

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # Through the service, so every ORGANIZATION_DEFAULTS hook (alert rules, questions, ...)
        # runs for an organization made here exactly as for one made anywhere else.
        org = services.organization_create(
            slug=obj.slug, name=obj.name, time_zone=obj.time_zone, language=obj.language
        )
        obj.pk, obj.created_at = org.pk, org.created_at
        email = form.cleaned_data.get("first_admin_email")
        if email:
            with tenant_context(org):
                invitation, token = services.invitation_create(
                    organization=org,
                    email=email,
                    role=Role.ADMIN,
                    team=None,
                    invited_by=request.user,
                )
                emails.invitation_email_send(org, invitation, token, "The CoachHub team")
            messages.info(request, f"Invitation sent to {email}.")

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is None:
            return super().changeform_view(request, object_id, form_url, extra_context)
        try:
            org_id = int(object_id)
        except (TypeError, ValueError):
            return super().changeform_view(request, object_id, form_url, extra_context)
        if not Organization.objects.filter(pk=org_id).exists():
            return super().changeform_view(request, object_id, form_url, extra_context)
        # The inlines read tenant tables: render them inside this organization's context, and
        # render the template before leaving it (a TemplateResponse renders lazily).
        with tenant_context(org_id):
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

    @admin.action(description="Deactivate the selected organizations (nobody can sign in)")
    def deactivate(self, request, queryset):
        with transaction.atomic():
            n = queryset.update(is_active=False)
        self.message_user(request, f"{n} organization(s) deactivated.")

    @admin.action(description="Reactivate the selected organizations")
    def reactivate(self, request, queryset):
        n = queryset.update(is_active=True)
        self.message_user(request, f"{n} organization(s) reactivated.")
