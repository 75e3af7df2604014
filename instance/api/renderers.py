"""Renderers for binary API answers (the pairing QR code as a PNG image)."""

from __future__ import annotations

from rest_framework.renderers import BaseRenderer


class PNGRenderer(BaseRenderer):
    """Passes PNG bytes through; chosen with ``Accept: image/png``."""

    media_type = "image/png"
    format = "png"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        """Return the bytes unchanged (views only hand this renderer PNG data)."""
        return data if isinstance(data, bytes) else b""
