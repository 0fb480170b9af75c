"""Decorators that say who may reach a view (login itself is required everywhere)."""

from functools import wraps

from django.core.exceptions import PermissionDenied


def staff_required(view):
    """Refuse anyone but admins with 403; anonymous users never get this far."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Only admins can open this page.")
        return view(request, *args, **kwargs)

    return wrapper


def editor_required(view):
    """Refuse viewers with 403."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.can_edit_flows:
            raise PermissionDenied("Viewers can read flows but not change or run them.")
        return view(request, *args, **kwargs)

    return wrapper
