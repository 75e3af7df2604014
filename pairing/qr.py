"""QR codes for pairing links, as PNG (and a data URL) and as SVG."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M

# Medium error correction survives a scratched screen; a 4-module quiet zone is what
# ordinary readers need to find the code.
_BOX_SIZE = 8
_BORDER = 4


def _code(data: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=_BOX_SIZE, border=_BORDER)
    code.add_data(data)
    code.make(fit=True)
    return code


def png(data: str) -> bytes:
    """The QR code of ``data`` as a black-on-white PNG."""
    buffer = io.BytesIO()
    _code(data).make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_url(png_bytes: bytes) -> str:
    """A ``data:image/png;base64,...`` URL for an <img> tag."""
    return "data:image/png;base64," + base64.b64encode(png_bytes).decode("ascii")


def svg(data: str) -> str:
    """The QR code of ``data`` as a standalone SVG document."""
    image = _code(data).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")
