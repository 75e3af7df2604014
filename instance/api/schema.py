"""OpenAPI pieces shared by the instance API views (drf-spectacular)."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describes BearerTokenAuthentication as an HTTP bearer scheme."""

    target_class = "instance.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        """The security scheme object."""
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `manage.py create_api_token` or Settings → Relay.",
        }


ERROR = inline_serializer("Error", fields={"detail": serializers.CharField()}, required=False)
VALIDATION_ERROR = OpenApiResponse(
    response=inline_serializer(
        "ValidationError",
        fields={"detail": serializers.CharField(required=False)},
    ),
    description="Invalid input: the body maps each bad field to its messages.",
)


MAX_ID = 2**63 - 1
ID_PARAMETER = OpenApiParameter(
    "id",
    {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    OpenApiParameter.PATH,
    description="the object's id",
)


def get_or_404(model, pk: int):
    """``get_object_or_404`` that also answers 404 (not 500) for ids beyond the database's range."""
    if not 0 < pk <= MAX_ID:
        raise Http404(f"No {model._meta.verbose_name} has id {pk}.")
    return get_object_or_404(model, pk=pk)


def errors(*codes: int) -> dict:
    """Response entries for the usual error status codes plus ``codes``."""
    result = {
        401: OpenApiResponse(ERROR, description="No or bad credentials."),
        403: OpenApiResponse(ERROR, description="Missing scope, or CSRF failure for a session."),
        503: OpenApiResponse(ERROR, description="relay.enc or relay.key cannot be used."),
    }
    for code in codes:
        if code == 400:
            result[400] = VALIDATION_ERROR
        elif code == 404:
            result[404] = OpenApiResponse(ERROR, description="No such object.")
        else:
            result[code] = OpenApiResponse(ERROR)
    return result
