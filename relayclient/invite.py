"""Reading a pairing invitation: a ``pulse://pair?...`` link, or an image of its QR code."""

from __future__ import annotations

import os
from pathlib import Path

from relayclient.errors import PAIRING_EXPIRED, PAIRING_LINK_INVALID, QR_UNREADABLE, ClientError
from relayproto import deeplink
from relayproto.deeplink import DeepLinkError, PairingInvite


def decode_qr_image(path: str | os.PathLike[str]) -> str:
    """The text of the one QR code in an image file (PNG or anything Pillow reads)."""
    # Imported here: only pairing from an image needs the native decoder.
    import zxingcpp
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    except FileNotFoundError:
        raise ClientError(QR_UNREADABLE, f"no such image: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ClientError(QR_UNREADABLE, f"{path} is not a readable image ({exc})") from None
    texts = [result.text for result in results if result.valid]
    if not texts:
        raise ClientError(
            QR_UNREADABLE,
            f"no QR code found in {path}: use the PNG from the instance, or paste the link",
        )
    if len(set(texts)) > 1:
        raise ClientError(QR_UNREADABLE, f"{path} holds several different QR codes")
    return texts[0]


def load_invite(
    link_or_image: str | os.PathLike[str], *, now: float | None = None
) -> PairingInvite:
    """Parse a pairing link, or decode it from a QR image first; expired links are refused."""
    text = os.fspath(link_or_image)
    if not text.strip().lower().startswith(f"{deeplink.SCHEME}:"):
        if not Path(text).is_file():
            raise ClientError(
                PAIRING_LINK_INVALID,
                f"{text[:60]!r} is neither a {deeplink.SCHEME}://pair link nor an image file",
            )
        text = decode_qr_image(text)
    try:
        return deeplink.parse(text.strip(), now=now)
    except DeepLinkError as exc:
        if exc.code == "EXPIRED":
            raise ClientError(
                PAIRING_EXPIRED, "this pairing link has expired: create a new one on the instance"
            ) from None
        if exc.code == "VERSION_UNSUPPORTED":
            raise ClientError("VERSION_UNSUPPORTED", str(exc)) from None
        raise ClientError(PAIRING_LINK_INVALID, f"{exc}: copy the whole link again") from None
