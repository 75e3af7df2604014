"""Scope checks for the instance API: a token needs the view's scope; the owner has all."""

from __future__ import annotations

from rest_framework import permissions

from instance.api.authentication import TokenPrincipal

SAFE_METHODS = permissions.SAFE_METHODS


class HasScope(permissions.BasePermission):
    """Grants a request when its token holds the scope the view names for its method.

    Views set ``required_scopes = {"GET": "settings:read", "PUT": "settings:write", ...}``
    (or ``required_scope`` for all methods). Logged-in staff (the owner) hold every scope.
    """

    message = "not allowed"

    def has_permission(self, request, view) -> bool:
        """Check authentication, then the scope for this method."""
        user = request.user
        if not user or not user.is_authenticated:
            return False
        scope = required_scope(view, request.method)
        if isinstance(user, TokenPrincipal):
            if scope is None or scope in user.scopes:
                return True
            self.message = f"this API token lacks the scope '{scope}'"
            return False
        if user.is_active and (user.is_staff or user.is_superuser):
            return True
        self.message = "only the instance's owner (a staff login) may use this API"
        return False


def required_scope(view, method: str) -> str | None:
    """The scope a view requires for an HTTP method (HEAD/OPTIONS follow GET)."""
    mapping = getattr(view, "required_scopes", None)
    if mapping:
        key = "GET" if method in ("HEAD", "OPTIONS") else method
        return mapping.get(key)
    return getattr(view, "required_scope", None)
