"""What the base layout needs on every page, computed lazily (templates call callables) so a
page that does not show a part (a partial, an e-mail) does not pay its query."""

from __future__ import annotations


def _once(fn):
    """A callable the template engine calls on first use; later uses get the cached value."""
    cache = []

    def wrapper():
        if not cache:
            cache.append(fn())
        return cache[0]

    return wrapper


def navigation(request):
    organization = getattr(request, "organization", None)
    member = getattr(request, "member", None)
    context = {"organization": organization, "member": member}
    if member is None:
        return context

    def _nav():
        from coachhub.core.navigation import nav_for

        return nav_for(member, request.path)

    def _orgs():
        from coachhub.accounts.selectors import user_memberships

        return [m.organization for m in user_memberships(request.user)]

    def _bell():
        from coachhub.core.notifications import bell_context

        return bell_context(member)

    context.update(
        {
            "nav_sections": _once(_nav),
            "user_organizations": _once(_orgs),
            "bell": _once(_bell),
        }
    )
    return context
