"""Shared API error handling: unusable secrets at rest become 503 with the reason."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

from instance.secretbox import SecretBoxError


class SecretsUnavailable(exceptions.APIException):
    """relay.enc or relay.key cannot be used; the detail says how to fix it."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "secrets_unavailable"
    default_detail = "relay.enc or relay.key cannot be used"


def exception_handler(exc, context):
    """DRF's handler, plus SecretBoxError (corrupt relay.enc, bad key file) → 503."""
    if isinstance(exc, SecretBoxError):
        exc = SecretsUnavailable(detail=str(exc))
    return drf_exception_handler(exc, context)
