"""Pages for people, teams, invitations, API keys and the organization (thin: forms in, one
service call, a redirect). Organization pages run inside the request's tenant context set by
TenancyMiddleware; objects are fetched only through access functions and selectors."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from coachhub.tenancy.access import admin_required, get_member_for, get_team_for, staff_required
from coachhub.tenancy.context import tenant_context
from coachhub.tenancy.models import GlobalLookup, Invitation, LookupKind, Organization, Role

from . import emails, forms, selectors, services

# --- outside any organization ----------------------------------------------------------------


class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"
    subject_template_name = "registration/password_reset_subject.txt"

    @property
    def extra_email_context(self):
        # Links in e-mails use SITE_URL, never the request's Host header (host poisoning).
        return {"site_url": settings.SITE_URL}


@login_required
def home(request):
    """The organization switcher; straight in when the user belongs to just one."""
    memberships = selectors.user_memberships(request.user)
    if len(memberships) == 1 and not request.GET.get("all"):
        return redirect("org_home", org=memberships[0].organization.slug)
    return render(request, "accounts/switch.html", {"memberships": memberships})


def _invitation_from_token(token: str):
    found = GlobalLookup.resolve(LookupKind.INVITATION, token)
    if found is None:
        raise Http404("No such invitation")
    org_id, invitation_id = found
    organization = Organization.objects.filter(pk=org_id, is_active=True).first()
    if organization is None:
        raise Http404("No such invitation")
    return organization, invitation_id


@never_cache
def invitation_accept(request, token):
    """/accounts/invite/<token>/: the one pre-organization path is the GlobalLookup row; the
    invitation itself is then read inside its organization's context, under RLS."""
    organization, invitation_id = _invitation_from_token(token)
    with tenant_context(organization):
        invitation = (
            Invitation.objects.select_related("team")
            .filter(organization=organization, pk=invitation_id)
            .first()
        )
        if invitation is None or not invitation.is_open:
            return render(
                request,
                "accounts/invitation_closed.html",
                {"organization": organization},
                status=410,
            )
        existing = services.user_has_account(invitation.email)
        context = {"invitation": invitation, "organization": organization, "existing": existing}
        if existing:
            # Never set an existing account's password from a link: sign in, then accept.
            signed_in_as_invitee = (
                request.user.is_authenticated and request.user.email.lower() == invitation.email
            )
            if request.method == "POST" and signed_in_as_invitee:
                services.invitation_accept(invitation)
                messages.success(request, f"Welcome to {organization.name}.")
                return redirect("org_home", org=organization.slug)
            context["signed_in_as_invitee"] = signed_in_as_invitee
            context["login_url"] = f"{reverse('login')}?next={request.path}"
            return render(request, "accounts/invitation_accept.html", context)
        form = forms.InvitationAcceptForm(request.POST or None, email=invitation.email)
        if request.method == "POST" and form.is_valid():
            member = services.invitation_accept(
                invitation,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
            auth_login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {organization.name}, {member.user.first_name}.")
            return redirect("org_home", org=organization.slug)
        context["form"] = form
        return render(request, "accounts/invitation_accept.html", context)


# --- organization home -------------------------------------------------------------------------


def org_home(request, org):
    member = request.member
    context = {"member": member}
    if member.is_admin:
        context["counts"] = selectors.organization_counts(member)
        context["teams"] = selectors.teams_for(member)
        context["invitations"] = selectors.pending_invitations(member)[:5]
    elif member.is_supervisor:
        teams = list(selectors.teams_for(member))
        context["teams"] = teams
        context["team_people"] = [(t, selectors.team_members(member, t)) for t in teams]
    else:
        context["profile"] = member.profile
        context["team"] = member.team
    return render(request, "accounts/org_home.html", context)


# --- teams -------------------------------------------------------------------------------------


@staff_required
def team_list(request, org):
    member = request.member
    form = forms.TeamForm(organization=request.organization) if member.is_admin else None
    return render(
        request, "accounts/team_list.html", {"teams": selectors.teams_for(member), "form": form}
    )


@admin_required
@require_POST
def team_create(request, org):
    form = forms.TeamForm(request.POST, organization=request.organization)
    if form.is_valid():
        team = services.team_create(
            organization=request.organization, name=form.cleaned_data["name"]
        )
        services.team_update(team, name=team.name, supervisors=form.cleaned_data["supervisors"])
        messages.success(request, f"Team “{team.name}” created.")
        return redirect("team_detail", org=org, team_id=team.public_id)
    return render(
        request,
        "accounts/team_list.html",
        {"teams": selectors.teams_for(request.member), "form": form},
        status=400,
    )


@staff_required
def team_detail(request, org, team_id):
    team = get_team_for(request.member, team_id)
    people = selectors.team_members(request.member, team)
    return render(
        request,
        "accounts/team_detail.html",
        {
            "team": team,
            "supervisors": [p for p in people if p.role == Role.SUPERVISOR],
            "agents": [p for p in people if p.role == Role.AGENT],
            "others": [p for p in people if p.role == Role.ADMIN],
        },
    )


@admin_required
def team_edit(request, org, team_id):
    team = get_team_for(request.member, team_id)
    initial = {
        "name": team.name,
        "supervisors": [lead.membership for lead in team.leads.select_related("membership")],
    }
    form = forms.TeamForm(
        request.POST or None, organization=request.organization, team=team, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        services.team_update(
            team, name=form.cleaned_data["name"], supervisors=form.cleaned_data["supervisors"]
        )
        messages.success(request, "Team saved.")
        return redirect("team_detail", org=org, team_id=team.public_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/team_edit.html", {"team": team, "form": form}, status=status)


# --- people ------------------------------------------------------------------------------------


@admin_required
def people_list(request, org):
    status = request.GET.get("status", "active")
    if status not in ("active", "inactive", "all"):
        status = "active"
    q = request.GET.get("q", "").strip()[:100]
    role = request.GET.get("role", "")
    if role not in Role.values:
        role = ""
    people = selectors.people_for(request.member, q=q, status=status, role=role)
    return render(
        request,
        "accounts/people_list.html",
        {
            "people": people,
            "status": status,
            "q": q,
            "role": role,
            "roles": Role.choices,
            "invitations": selectors.pending_invitations(request.member),
        },
    )


def _person_context(request, person, member_form=None, profile_form=None):
    profile = services.profile_ensure(person)
    return {
        "person": person,
        "profile": profile,
        "member_form": member_form
        or forms.MemberForm(
            member=person,
            editor=request.member,
            initial={
                "role": person.role,
                "team": person.team,
                "teams_led": list(
                    person.leads.select_related("team").values_list("team__public_id", flat=True)
                ),
                "is_reviewer": person.is_reviewer,
                "is_recovery": person.is_recovery,
            },
        ),
        "profile_form": profile_form or forms.ProfileForm(instance=profile),
    }


@admin_required
def person_detail(request, org, member_id):
    person = get_member_for(request.member, member_id)
    return render(request, "accounts/person_detail.html", _person_context(request, person))


@admin_required
@require_POST
def person_edit(request, org, member_id):
    person = get_member_for(request.member, member_id)
    form = forms.MemberForm(request.POST, member=person, editor=request.member)
    if form.is_valid():
        services.membership_update(person, **form.cleaned_data)
        messages.success(request, f"Saved {person.display_name}'s role and team.")
        return redirect("person_detail", org=org, member_id=person.public_id)
    return render(
        request,
        "accounts/person_detail.html",
        _person_context(request, person, member_form=form),
        status=400,
    )


@admin_required
@require_POST
def person_profile(request, org, member_id):
    person = get_member_for(request.member, member_id)
    profile = services.profile_ensure(person)
    form = forms.ProfileForm(request.POST, request.FILES, instance=profile)
    if form.is_valid():
        services.profile_update(profile, **form.changes())
        messages.success(request, f"Saved {person.display_name}'s profile.")
        return redirect("person_detail", org=org, member_id=person.public_id)
    return render(
        request,
        "accounts/person_detail.html",
        _person_context(request, person, profile_form=form),
        status=400,
    )


@admin_required
@require_POST
def person_deactivate(request, org, member_id):
    person = get_member_for(request.member, member_id)
    if person.pk == request.member.pk:
        messages.error(request, "You can't deactivate yourself; ask another admin.")
    else:
        services.membership_deactivate(person)
        messages.success(
            request,
            f"{person.display_name} is deactivated: history stays, sign-in and new surveys stop.",
        )
    return redirect("person_detail", org=org, member_id=person.public_id)


@admin_required
@require_POST
def person_reactivate(request, org, member_id):
    person = get_member_for(request.member, member_id)
    services.membership_reactivate(person)
    messages.success(request, f"{person.display_name} is active again.")
    return redirect("person_detail", org=org, member_id=person.public_id)


# --- invitations -------------------------------------------------------------------------------


def _send_invitation(request, invitation: Invitation, token: str) -> None:
    inviter = request.user.get_full_name() or request.user.email
    emails.invitation_email_send(request.organization, invitation, token, inviter)


@admin_required
def invite(request, org):
    form = forms.InviteForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        invitation, token = services.invitation_create(
            organization=request.organization,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            team=form.cleaned_data["team"],
            invited_by=request.user,
        )
        _send_invitation(request, invitation, token)
        messages.success(request, f"Invitation sent to {invitation.email}.")
        return redirect("people_list", org=org)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/invite.html", {"form": form}, status=status)


@admin_required
@require_POST
def invitation_resend(request, org, invitation_id):
    invitation = selectors.get_invitation_for(request.member, invitation_id)
    token = services.invitation_renew(invitation)
    _send_invitation(request, invitation, token)
    messages.success(request, f"Invitation sent again to {invitation.email}.")
    return redirect("people_list", org=org)


@admin_required
@require_POST
def invitation_cancel(request, org, invitation_id):
    invitation = selectors.get_invitation_for(request.member, invitation_id)
    services.invitation_cancel(invitation)
    messages.success(request, f"Invitation to {invitation.email} cancelled.")
    return redirect("people_list", org=org)


# --- API keys ----------------------------------------------------------------------------------


@admin_required
@never_cache
def api_key_list(request, org):
    """GET lists the keys; POST creates one and shows its secret in this response only."""
    form = forms.ApiKeyForm(request.POST or None)
    created = secret = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            created, secret = services.api_key_create(
                organization=request.organization,
                name=form.cleaned_data["name"],
                mode=form.cleaned_data["mode"],
                created_by=request.user,
            )
            form = forms.ApiKeyForm()
        else:
            status = 400
    return render(
        request,
        "accounts/api_keys.html",
        {
            "keys": selectors.api_keys_for(request.member),
            "form": form,
            "created": created,
            "secret": secret,
        },
        status=status,
    )


@admin_required
def api_key_revoke(request, org, key_id):
    key = selectors.get_api_key_for(request.member, key_id)
    if request.method == "POST":
        services.api_key_revoke(key)
        messages.success(request, f"Key “{key.name}” revoked: requests with it now get 401.")
        return redirect("api_key_list", org=org)
    return render(request, "accounts/api_key_revoke.html", {"key": key})


# --- settings and profile ------------------------------------------------------------------------


@admin_required
def org_settings(request, org):
    form = forms.OrganizationSettingsForm(request.POST or None, instance=request.organization)
    if request.method == "POST" and form.is_valid():
        services.organization_update(
            request.organization, **{name: form.cleaned_data[name] for name in form.Meta.fields}
        )
        messages.success(request, "Settings saved.")
        return redirect("org_settings", org=org)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/settings.html", {"form": form}, status=status)


def my_profile(request, org):
    member = request.member
    profile = services.profile_ensure(member)
    form = forms.ProfileForm(
        request.POST or None, request.FILES or None, instance=profile, self_service=True
    )
    if request.method == "POST" and form.is_valid():
        services.profile_update(profile, **form.changes())
        messages.success(request, "Your profile is saved.")
        return redirect("my_profile", org=org)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "accounts/my_profile.html", {"form": form, "profile": profile}, status=status
    )
