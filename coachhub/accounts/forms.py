"""Forms for sign-in, invitations, people, teams, keys and settings. Each error names its field."""

from __future__ import annotations

import io

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

from coachhub.tenancy.models import (
    AgentProfile,
    ApiKeyMode,
    Membership,
    Organization,
    RecognitionPreference,
    Role,
    Team,
)

PHOTO_MAX_BYTES = 3 * 1024 * 1024
PHOTO_MAX_SIDE = 512


class LoginForm(AuthenticationForm):
    """E-mail and password. A person whose every membership is deactivated cannot sign in."""

    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That e-mail and password don't match an account.",
        "inactive": "This account has been deactivated. Ask your administrator.",
    }

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_staff:
            return  # the platform operator signs in to /platform/ without a membership
        from .selectors import user_memberships

        if not user_memberships(user):
            raise forms.ValidationError(self.error_messages["inactive"], code="inactive")


class InvitationAcceptForm(forms.Form):
    first_name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        max_length=150, widget=forms.TextInput(attrs={"autocomplete": "family-name"})
    )
    password1 = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters; not a common password.",
    )
    password2 = forms.CharField(
        label="Repeat the password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("password1"), cleaned.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", "The two passwords differ.")
        elif p1:
            from django.contrib.auth import get_user_model

            probe = get_user_model()(
                username=self.email,
                email=self.email,
                first_name=cleaned.get("first_name", ""),
                last_name=cleaned.get("last_name", ""),
            )
            try:
                password_validation.validate_password(p1, probe)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


class InviteForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        help_text="The agent's team, or the team a supervisor will lead.",
    )

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["team"].queryset = Team.objects.filter(organization=organization)
        self.fields["team"].to_field_name = "public_id"

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if Membership.objects.filter(
            organization=self.organization, user__email__iexact=email, is_active=True
        ).exists():
            raise forms.ValidationError("This person is already a member of the organization.")
        return email

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("role") == Role.AGENT and not cleaned.get("team"):
            self.add_error("team", "Choose the agent's team.")
        return cleaned


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    supervisors = forms.ModelMultipleChoiceField(
        queryset=Membership.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Supervisors who lead this team and see its people.",
    )

    def __init__(self, *args, organization: Organization, team: Team | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization, self.team = organization, team
        self.fields["supervisors"].queryset = (
            Membership.objects.filter(
                organization=organization, role=Role.SUPERVISOR, is_active=True
            )
            .select_related("user")
            .order_by("user__first_name")
        )
        self.fields["supervisors"].to_field_name = "public_id"
        self.fields["supervisors"].label_from_instance = lambda m: (
            m.user.get_full_name() or m.user.email
        )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        clash = Team.objects.filter(organization=self.organization, name__iexact=name)
        if self.team is not None:
            clash = clash.exclude(pk=self.team.pk)
        if clash.exists():
            raise forms.ValidationError("A team with this name already exists.")
        return name


class MemberForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, help_text="The team an agent works in."
    )
    teams_led = forms.ModelMultipleChoiceField(
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Teams led",
        help_text="Only for supervisors: they see these teams' people and results.",
    )
    is_reviewer = forms.BooleanField(
        required=False, label="QA reviewer", help_text="May review QA without leading a team."
    )
    is_recovery = forms.BooleanField(
        required=False, label="Service recovery", help_text="Works the service-recovery queue."
    )

    def __init__(self, *args, member: Membership, editor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.member, self.editor = member, editor
        teams = Team.objects.filter(organization_id=member.organization_id)
        for name in ("team", "teams_led"):
            self.fields[name].queryset = teams
            self.fields[name].to_field_name = "public_id"

    def clean(self):
        cleaned = super().clean()
        role = cleaned.get("role")
        if role == Role.AGENT and not cleaned.get("team"):
            self.add_error("team", "Choose the agent's team.")
        if self.member.pk == self.editor.pk and role and role != Role.ADMIN:
            self.add_error("role", "You can't remove your own admin role; ask another admin.")
        return cleaned


def normalise_photo(upload) -> ContentFile:
    """Re-encode an uploaded photo as a PNG of at most 512 px: strips metadata and anything
    that is not plainly an image."""
    if upload.size > PHOTO_MAX_BYTES:
        raise forms.ValidationError("The photo is larger than 3 MB.")
    try:
        image = Image.open(upload)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise forms.ValidationError("Upload a PNG, JPEG or WebP image.") from exc
    if image.format not in ("PNG", "JPEG", "WEBP"):
        raise forms.ValidationError("Upload a PNG, JPEG or WebP image.")
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB")
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return ContentFile(out.getvalue(), name="photo.png")


class ProfileForm(forms.ModelForm):
    """An admin edits any profile; ``self_service`` hides what only admins may change."""

    photo = forms.ImageField(
        required=False, help_text="PNG, JPEG or WebP, up to 3 MB. Shown to customers."
    )
    remove_photo = forms.BooleanField(required=False, label="Remove the current photo")

    class Meta:
        model = AgentProfile
        fields = ["display_name", "bio", "employee_id", "recognition_preference"]
        widgets = {"bio": forms.Textarea(attrs={"rows": 2, "maxlength": 140})}
        help_texts = {
            "display_name": "The name customers see, e.g. “Ana R.”.",
            "bio": "A line customers see beside the photo (up to 140 characters).",
            "employee_id": "Your helpdesk's id for this person, used by the API.",
        }

    def __init__(self, *args, self_service: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recognition_preference"].choices = RecognitionPreference.choices
        if self_service:
            del self.fields["employee_id"]

    def clean_employee_id(self):
        value = self.cleaned_data["employee_id"].strip()
        if value and (
            AgentProfile.objects.filter(
                organization_id=self.instance.organization_id, employee_id=value
            )
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise forms.ValidationError("Another person already has this employee id.")
        return value

    def clean_photo(self):
        upload = self.cleaned_data.get("photo")
        if not upload or upload is self.initial.get("photo"):
            return None
        return normalise_photo(upload)

    def changes(self) -> dict:
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.fields}
        if self.cleaned_data.get("photo"):
            fields["photo"] = self.cleaned_data["photo"]
        elif self.cleaned_data.get("remove_photo"):
            fields["photo"] = ""
        return fields


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=80, help_text="Where it is used, e.g. “Zendesk production”.")
    mode = forms.ChoiceField(
        choices=ApiKeyMode.choices,
        initial=ApiKeyMode.LIVE,
        widget=forms.RadioSelect,
        help_text="Test keys store data as test data: nothing is sent to customers or counted.",
    )


class OrganizationSettingsForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "time_zone", "language", "brand_color"]
        labels = {"brand_color": "Brand colour"}
        widgets = {"brand_color": forms.TextInput(attrs={"type": "color"})}
        help_texts = {
            "time_zone": "Days, weeks and digests follow this time zone.",
            "language": "The default language of customer-facing e-mails.",
        }
