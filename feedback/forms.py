"""Forms of feedback's admin pages (integrations, CSV import)."""

from django import forms

from .services.csv_import import MAX_UPLOAD_BYTES


class ZendeskEndpointForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        help_text="For you: e.g. the Zendesk brand or instance, “Support EU”.",
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the endpoint a name.")
        return name


class RotateSecretForm(forms.Form):
    new_secret = forms.CharField(
        max_length=200,
        required=False,
        label="New signing secret",
        help_text="Paste the signing secret Zendesk shows for this webhook, or leave empty and "
        "we generate one. The current secret stays valid until you retire it.",
    )

    def clean_new_secret(self):
        secret = self.cleaned_data["new_secret"].strip()
        if secret and len(secret) < 16:
            raise forms.ValidationError("A signing secret has at least 16 characters.")
        return secret


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 (with or without BOM) or UTF-16, comma-separated, first row = header.",
    )
    history = forms.BooleanField(
        required=False,
        label="Import as history",
        help_text="Past contacts: stored and counted in reports, but no customer is ever surveyed.",
    )

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size == 0:
            raise forms.ValidationError("The file is empty.")
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 1 GiB; split it into parts.")
        return f
