"""Small template helpers for the Tabler layout: form fields with per-field errors, avatars."""

from __future__ import annotations

from django import forms, template

register = template.Library()

_CHECK_WIDGETS = (forms.CheckboxInput,)
_CHOICE_LIST_WIDGETS = (forms.CheckboxSelectMultiple, forms.RadioSelect)


@register.inclusion_tag("includes/field.html")
def field(bound_field, **kwargs):
    """Render a form field Tabler-style: label, control, help text and its own error message."""
    widget = bound_field.field.widget
    if isinstance(widget, _CHECK_WIDGETS):
        kind, css = "check", "form-check-input"
    elif isinstance(widget, _CHOICE_LIST_WIDGETS):
        kind, css = "choices", "form-check-input"
    elif isinstance(widget, forms.Select | forms.SelectMultiple):
        kind, css = "input", "form-select"
    elif isinstance(widget, forms.TextInput) and widget.attrs.get("type") == "color":
        kind, css = "input", "form-control form-control-color"
    else:
        kind, css = "input", "form-control"
    if bound_field.errors:
        css += " is-invalid"
    attrs = {"class": css}
    if bound_field.help_text:
        attrs["aria-describedby"] = f"{bound_field.auto_id}_help"
    if bound_field.errors:
        attrs["aria-invalid"] = "true"
        attrs["aria-describedby"] = f"{bound_field.auto_id}_error"
    if bound_field.field.required and kind != "choices":
        attrs["required"] = True
    attrs.update(kwargs)
    options = []
    if kind == "choices":
        for sub in bound_field.subwidgets:
            sub.data["attrs"]["class"] = "form-check-input"
            options.append(sub)
    return {
        "field": bound_field,
        "kind": kind,
        "widget": bound_field.as_widget(attrs=attrs) if kind != "choices" else "",
        "options": options,
    }


@register.filter
def initials(text: str) -> str:
    parts = [p for p in str(text or "").replace("@", " ").split() if p[:1].isalpha()]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@register.inclusion_tag("includes/avatar.html")
def avatar(member, size: str = ""):
    """A member's photo, or their initials on a colour derived from their id."""
    profile = member.__dict__.get("profile", None) if member is not None else None
    if profile is None and member is not None and "profile" not in member.__dict__:
        profile = member.profile
    name = member.display_name if member is not None else ""
    palette = [
        "blue",
        "azure",
        "indigo",
        "purple",
        "pink",
        "red",
        "orange",
        "teal",
        "green",
        "cyan",
    ]
    colour = palette[(member.pk or 0) % len(palette)] if member is not None else "secondary"
    return {
        "photo_url": profile.photo.url if profile and profile.photo else "",
        "name": name,
        "size": size,
        "colour": colour,
    }
