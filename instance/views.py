"""Instance API views: relay settings, connector status and API tokens (thin: logic lives in
instance.relay_settings, instance.status and instance.tokens)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from instance import relay_settings, tokens
from instance import status as connector_status
from instance.api.authentication import TokenPrincipal, actor_of, client_ip
from instance.api.base import InstanceAPIView
from instance.api.schema import ID_PARAMETER, errors, get_or_404
from instance.models import ApiToken
from instance.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    ConnectorStatusSerializer,
    RelaySettingsSerializer,
    RelaySettingsUpdateSerializer,
)


class RelaySettingsView(InstanceAPIView):
    """Read or change the relay settings (relay.enc, with environment overrides)."""

    required_scopes = {"GET": "settings:read", "PUT": "settings:write"}

    @extend_schema(responses={200: RelaySettingsSerializer, **errors()})
    def get(self, request):
        """The effective relay settings, identity, licence summary and overrides."""
        return Response(relay_settings.current().as_dict())

    @extend_schema(
        request=RelaySettingsUpdateSerializer,
        responses={200: RelaySettingsSerializer, **errors(400)},
    )
    def put(self, request):
        """Change enabled, server_url, licence_token or pairing_requires_approval."""
        serializer = RelaySettingsUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            updated = relay_settings.update(
                **serializer.validated_data, actor=actor_of(request), ip=client_ip(request)
            )
        except relay_settings.SettingsError as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        return Response(updated.as_dict())


class RelayStatusView(InstanceAPIView):
    """The outbound connector's status."""

    required_scopes = {"GET": "settings:read"}

    @extend_schema(responses={200: ConnectorStatusSerializer, **errors()})
    def get(self, request):
        """What the connector last published; running is false when it is stale or absent."""
        return Response(connector_status.read().as_dict())


class ApiTokenListView(InstanceAPIView):
    """List API tokens, or create one (its secret is in this answer only)."""

    required_scopes = {"GET": "settings:read", "POST": "settings:write"}

    @extend_schema(responses={200: ApiTokenSerializer(many=True), **errors()})
    def get(self, request):
        """Every token, newest first, without secrets."""
        return Response(ApiTokenSerializer(ApiToken.objects.all()[:500], many=True).data)

    @extend_schema(
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, **errors(400)},
    )
    def post(self, request):
        """Create a token; a token may only grant scopes it holds itself."""
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scopes = serializer.validated_data["scopes"]
        if isinstance(request.user, TokenPrincipal):
            missing = sorted(set(scopes) - request.user.scopes)
            if missing:
                raise PermissionDenied(
                    f"this API token lacks the scope '{missing[0]}', so it cannot grant it"
                )
        try:
            token, plaintext = tokens.create_token(
                serializer.validated_data["name"],
                scopes,
                actor=actor_of(request),
                ip=client_ip(request),
            )
        except tokens.TokenError as exc:
            raise ValidationError({"name": [str(exc)]}) from None
        data = ApiTokenCreatedSerializer(token).data
        data["token"] = plaintext
        return Response(data, status=status.HTTP_201_CREATED)


class ApiTokenDetailView(InstanceAPIView):
    """Revoke one API token."""

    required_scopes = {"DELETE": "settings:write"}

    @extend_schema(
        parameters=[ID_PARAMETER],
        responses={204: OpenApiResponse(description="Revoked (or was already)."), **errors(404)},
    )
    def delete(self, request, pk: int):
        """Revoke the token; it stops working at once."""
        token = get_or_404(ApiToken, pk)
        tokens.revoke_token(token, actor=actor_of(request), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
