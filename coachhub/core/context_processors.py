def navigation(request):
    """What the base layout needs: the organization and member of this request (if any)."""
    return {
        "organization": getattr(request, "organization", None),
        "member": getattr(request, "member", None),
    }
