"""The relay operator's Ed25519 key pair, which signs the licences this relay accepts."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from relayproto import b64
from relayproto.files import write_private_file

PRIVATE_KEY_FILE = "relay_operator.key"
PUBLIC_KEY_FILE = "relay_operator.pub"


def encode_public_key(key: Ed25519PublicKey) -> str:
    """Raw public key as unpadded base64url, the form used in settings and files."""
    raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return b64.encode(raw)


def decode_public_key(text: str, source: str) -> Ed25519PublicKey:
    """Parse an unpadded base64url raw Ed25519 public key; ``source`` names where it came from."""
    try:
        raw = b64.decode(text.strip())
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{source} holds {text!r}, which is not a base64url Ed25519 public key "
            "(43 characters, as printed by `manage.py relay_keygen`)."
        ) from None


def key_paths(data_dir: Path | None = None) -> tuple[Path, Path]:
    """Where the operator key pair lives: (private, public)."""
    base = Path(data_dir or settings.DATA_DIR)
    return base / PRIVATE_KEY_FILE, base / PUBLIC_KEY_FILE


def generate(data_dir: Path | None = None, *, force: bool = False) -> Ed25519PrivateKey:
    """Write a new operator key pair (private key 0600); refuse to overwrite unless forced."""
    private_path, public_path = key_paths(data_dir)
    if private_path.exists() and not force:
        raise FileExistsError(
            f"{private_path} exists already: keep it, or pass --force to replace it "
            "(licences signed by the old key then need its public key in "
            "PULSE_RELAY_OPERATOR_PUBLIC_KEYS)."
        )
    key = Ed25519PrivateKey.generate()
    write_private_file(
        private_path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    public_path.write_text(encode_public_key(key.public_key()) + "\n", encoding="ascii")
    return key


def load_private_key(path: Path | None = None) -> Ed25519PrivateKey:
    """Load the operator private key (from the data directory unless a path is given)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    private_path = Path(path) if path else key_paths()[0]
    try:
        key = load_pem_private_key(private_path.read_bytes(), password=None)
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"No operator key at {private_path}: run `python manage.py relay_keygen` first."
        ) from None
    except ValueError:
        raise ImproperlyConfigured(f"{private_path} is not a PEM Ed25519 private key.") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{private_path} is not an Ed25519 key.")
    return key


def trusted_public_keys() -> list[Ed25519PublicKey]:
    """Every operator public key this relay trusts: the data directory's, then configured ones."""
    keys: list[Ed25519PublicKey] = []
    public_path = key_paths()[1]
    if public_path.exists():
        keys.append(decode_public_key(public_path.read_text(encoding="ascii"), str(public_path)))
    for text in settings.PULSE_RELAY_OPERATOR_PUBLIC_KEYS:
        keys.append(decode_public_key(text, "PULSE_RELAY_OPERATOR_PUBLIC_KEYS"))
    return keys
