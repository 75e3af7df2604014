"""Onboarding (QR code, deep link) and devices API views; logic is in sessions and models."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from instance.api.authentication import actor_of, client_ip
from instance.api.base import InstanceAPIView
from instance.api.renderers import PNGRenderer
from instance.api.schema import ID_PARAMETER, errors, get_or_404
from pairing import devices, qr, sessions
from pairing.live_parts import pairings_part
from pairing.models import Device, DeviceError
from pairing.serializers import (
    DeviceApproveSerializer,
    DeviceRenameSerializer,
    DeviceSerializer,
    NotReadySerializer,
    OnboardingQRSerializer,
    OnboardingSerializer,
    PairingSessionSerializer,
)
from relayproto import b64

PAIRING_ID_PARAMETER = OpenApiParameter(
    "pairing_id",
    {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$"},
    OpenApiParameter.PATH,
    description="the pairing id, unpadded base64url (as POST /api/onboarding/… returned it)",
)


class NotReady(APIException):
    """409 with the diagnostics saying what to fix."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "pairing_not_possible"

    def __init__(self, diagnostics: list[sessions.Diagnostic]) -> None:
        """Carry the diagnostics in the body."""
        super().__init__()
        self.detail = {
            "detail": "Pairing is not possible yet: fix the diagnostics below.",
            "diagnostics": [d.as_dict() for d in diagnostics],
        }


class _OnboardingView(InstanceAPIView):
    required_scopes = {"POST": "settings:read"}

    def _create(self, request) -> tuple[dict, str]:
        try:
            session, invite = sessions.create_pairing_session(
                actor=actor_of(request), ip=client_ip(request)
            )
        except sessions.PairingNotPossible as exc:
            raise NotReady(exc.diagnostics) from None
        link = invite.to_uri()
        body = {
            "deep_link": link,
            "expires_at": session.expires_at,
            # Relative too: a browser whose clock is off still counts down correctly.
            "expires_in": max(0, int((session.expires_at - timezone.now()).total_seconds())),
            "pairing_id": b64.encode(invite.pairing_id),
        }
        return body, link


class OnboardingDeepLinkView(_OnboardingView):
    """Create a pairing session and return its deep link."""

    @extend_schema(
        request=None, responses={201: OnboardingSerializer, 409: NotReadySerializer, **errors()}
    )
    def post(self, request):
        """A single-use pairing link (expires in PULSE_PAIRING_TTL_SECONDS)."""
        body, _ = self._create(request)
        return Response(OnboardingSerializer(body).data, status=status.HTTP_201_CREATED)


class OnboardingQRView(_OnboardingView):
    """Create a pairing session and return its QR code (JSON, or the PNG itself)."""

    renderer_classes = [JSONRenderer, PNGRenderer, BrowsableAPIRenderer]

    def handle_exception(self, exc):
        """Errors are JSON even when the client asked for image/png."""
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        request=None,
        responses={
            (201, "application/json"): OnboardingQRSerializer,
            (201, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            409: NotReadySerializer,
            **errors(),
        },
    )
    def post(self, request):
        """A pairing session as a QR code; send Accept: image/png for the bare image."""
        body, link = self._create(request)
        png = qr.png(link)
        if getattr(request.accepted_renderer, "format", "") == "png":
            return Response(png, status=status.HTTP_201_CREATED, content_type="image/png")
        body["qr_png"] = qr.png_data_url(png)
        body["qr_svg"] = qr.svg(link)
        return Response(OnboardingQRSerializer(body).data, status=status.HTTP_201_CREATED)


class PairingSessionListView(InstanceAPIView):
    """The pairing sessions whose QR code or link still works."""

    required_scopes = {"GET": "settings:read"}

    @extend_schema(responses={200: PairingSessionSerializer(many=True), **errors()})
    def get(self, request):
        """Open sessions, newest first."""
        return Response(PairingSessionSerializer(pairings_part(), many=True).data)


class PairingSessionDetailView(InstanceAPIView):
    """Cancel one pairing session: its QR code and link stop working at once."""

    required_scopes = {"DELETE": "settings:read"}

    @extend_schema(
        parameters=[PAIRING_ID_PARAMETER],
        responses={204: OpenApiResponse(description="Cancelled."), **errors(404)},
    )
    def delete(self, request, pairing_id: str):
        """End the session (the same scope that may create one may cancel it)."""
        try:
            raw = b64.decode(pairing_id)
        except ValueError:
            raise NotFound("no open pairing session has this id") from None
        if not sessions.cancel_session(raw, actor=actor_of(request), ip=client_ip(request)):
            raise NotFound("no open pairing session has this id (used, expired or cancelled)")
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceListView(InstanceAPIView):
    """Pending and active devices (revoked ones with ?include_revoked=true)."""

    required_scopes = {"GET": "settings:read"}

    @extend_schema(responses={200: DeviceSerializer(many=True), **errors()})
    def get(self, request):
        """Devices, newest pairing first, with key fingerprint and online state."""
        rows = Device.objects.all()
        if request.query_params.get("include_revoked") != "true":
            rows = rows.exclude(status=Device.REVOKED)
        context = {"online": devices.online_fingerprints()}
        return Response(DeviceSerializer(rows[:500], many=True, context=context).data)


class DeviceDetailView(InstanceAPIView):
    """Rename or revoke one device."""

    required_scopes = {"PATCH": "devices:write", "DELETE": "devices:write"}

    @extend_schema(
        parameters=[ID_PARAMETER],
        request=DeviceRenameSerializer,
        responses={200: DeviceSerializer, **errors(400, 404)},
    )
    def patch(self, request, pk: int):
        """Rename the device."""
        device = get_or_404(Device, pk)
        serializer = DeviceRenameSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            device = device.rename(
                serializer.validated_data["name"],
                actor=actor_of(request),
                ip=client_ip(request),
            )
        except DeviceError as exc:
            raise ValidationError({exc.field or "name": [str(exc)]}) from None
        return Response(
            DeviceSerializer(device, context={"online": devices.online_fingerprints()}).data
        )

    @extend_schema(
        parameters=[ID_PARAMETER],
        responses={204: OpenApiResponse(description="Revoked (or was already)."), **errors(404)},
    )
    def delete(self, request, pk: int):
        """Revoke the device: its channels close and it must pair again."""
        device = get_or_404(Device, pk)
        device.revoke(actor=actor_of(request), ip=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceApproveView(InstanceAPIView):
    """Approve a pending device with the code shown on the phone."""

    required_scopes = {"POST": "devices:write"}

    @extend_schema(
        parameters=[ID_PARAMETER],
        request=DeviceApproveSerializer,
        responses={200: DeviceSerializer, **errors(400, 404)},
    )
    def post(self, request, pk: int):
        """Activate the device when the 6-digit code matches."""
        device = get_or_404(Device, pk)
        serializer = DeviceApproveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            device = device.approve(
                serializer.validated_data["code"],
                actor=actor_of(request),
                ip=client_ip(request),
            )
        except DeviceError as exc:
            raise ValidationError({exc.field or "code": [str(exc)]}) from None
        return Response(
            DeviceSerializer(device, context={"online": devices.online_fingerprints()}).data
        )
