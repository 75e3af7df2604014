"""How the instance's own app tells a tunnelled request from a paired device from anything else.

The tunnel sets ``x-pulse-device-id`` and ``x-pulse-device-name`` on every request, but any
browser on the LAN could send those too. So in-process requests also carry
``x-pulse-tunnel-secret``: random per process, never sent anywhere else, compared in constant
time. Only a request with the right secret counts as a paired device; the middleware drops all
three headers from every other request, and drops the secret from tunnelled ones, so no view can
be fooled by, or leak, them.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from urllib.parse import quote, unquote

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from instance.tunnel.common import TunnelDevice

DEVICE_ID_HEADER = "x-pulse-device-id"
DEVICE_NAME_HEADER = "x-pulse-device-name"
SECRET_HEADER = "x-pulse-tunnel-secret"  # noqa: S105 - a header name, not a secret
# Fresh per process: it only has to survive as long as the in-process app it is sent to.
_SECRET = secrets.token_urlsafe(32)

_META = {
    name: "HTTP_" + name.upper().replace("-", "_")
    for name in (DEVICE_ID_HEADER, DEVICE_NAME_HEADER, SECRET_HEADER)
}


def device_headers(device: TunnelDevice, *, with_secret: bool) -> list[tuple[str, str]]:
    """Headers naming the device; the name is percent-encoded UTF-8 (headers are latin-1)."""
    headers = [
        (DEVICE_ID_HEADER, device.device_id),
        (DEVICE_NAME_HEADER, quote(device.name, safe="")),
    ]
    if with_secret:
        headers.append((SECRET_HEADER, _SECRET))
    return headers


def _secret_matches(value: str | None) -> bool:
    return value is not None and hmac.compare_digest(value.encode("latin-1"), _SECRET.encode())


def device_from_headers(headers: Mapping[str, str]) -> TunnelDevice | None:
    """The tunnelled device named by lowercase headers, or None without the right secret."""
    if not _secret_matches(headers.get(SECRET_HEADER)):
        return None
    device_id = headers.get(DEVICE_ID_HEADER)
    if not device_id:
        return None
    return TunnelDevice(device_id=device_id, name=unquote(headers.get(DEVICE_NAME_HEADER, "")))


def device_from_scope(scope: Mapping) -> TunnelDevice | None:
    """The tunnelled device of an ASGI scope (WebSocket consumers), or None."""
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    wanted = {DEVICE_ID_HEADER, DEVICE_NAME_HEADER, SECRET_HEADER}
    found: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in wanted:
            found[name] = raw_value.decode("latin-1")
    return device_from_headers(found)


def _authenticate(request: HttpRequest) -> None:
    meta = request.META
    device = device_from_headers({name: meta[key] for name, key in _META.items() if key in meta})
    for name, key in _META.items():
        if device is None or name == SECRET_HEADER:
            meta.pop(key, None)
    request.__dict__.pop("headers", None)  # HttpRequest.headers is cached from META
    request.pulse_device = device
    if device is not None:
        # No ambient credentials ride a tunnelled request (the tunnel strips cookies and
        # authorization), so there is no cross-site request to forge.
        request._dont_enforce_csrf_checks = True


class TunnelDeviceMiddleware:
    """Sets ``request.pulse_device`` (a TunnelDevice or None) and removes forged device headers."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> HttpResponse | Awaitable[HttpResponse]:
        """Authenticate the tunnel marking, then pass the request on."""
        if self.is_async:
            return self._acall(request)
        _authenticate(request)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest) -> HttpResponse:
        _authenticate(request)
        return await self.get_response(request)
