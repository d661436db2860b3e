"""Home, the organization switcher and the organization's landing page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from coachhub.tenancy.access import teams_visible_to
from coachhub.tenancy.context import user_context
from coachhub.tenancy.models import Membership


def user_memberships(user):
    with user_context(user):
        return list(
            Membership.objects.filter(user=user, is_active=True, organization__is_active=True)
            .select_related("organization")
            .order_by("organization__name")
        )


@login_required
def home(request):
    memberships = user_memberships(request.user)
    if len(memberships) == 1:
        return redirect("org_home", org=memberships[0].organization.slug)
    return render(request, "accounts/switch.html", {"memberships": memberships})


def org_home(request, org):
    member = request.member
    return render(
        request,
        "accounts/org_home.html",
        {"teams": teams_visible_to(member), "member": member},
    )
