"""Typed readers for configuration from the environment.

Every reader names the variable in its error, so a bad value is a clear start-up
failure rather than a surprise later. Secrets may come from ``<NAME>_FILE``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    env = os.environ if environ is None else environ
    value = env.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    """Return the variable as a stripped string, or ``default`` when unset."""
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool = False, environ: Mapping[str, str] | None = None) -> bool:
    """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not a boolean: set it to one of true, false, 1, 0, yes, no, on, off."
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Return the variable as an integer within [minimum, maximum]."""
    value = _raw(name, environ)
    if value is None or value == "":
        result = default
    else:
        try:
            result = int(value.replace("_", ""), 10)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}={value!r} is not a whole number: set it to digits only, e.g. {default}."
            ) from None
    if minimum is not None and result < minimum:
        raise ImproperlyConfigured(f"{name}={result} is below the minimum {minimum}.")
    if maximum is not None and result > maximum:
        raise ImproperlyConfigured(f"{name}={result} is above the maximum {maximum}.")
    return result


def env_list(
    name: str, default: list[str] | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Return a comma-separated variable as a list of non-empty stripped items."""
    value = _raw(name, environ)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_host_ports(
    name: str, default_port: int, environ: Mapping[str, str] | None = None
) -> list[tuple[str, int]]:
    """Return ``host:port,host:port`` as [(host, port)], ``default_port`` where none is given."""
    result = []
    for item in env_list(name, environ=environ):
        host, colon, port = item.rpartition(":")
        if not colon:
            host, port = item, str(default_port)
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(
                f"{name} has {item!r}: give host:port pairs separated by commas, e.g. "
                f"10.0.0.5:{default_port},10.0.0.6:{default_port}."
            )
        result.append((host.strip("[]"), int(port)))
    return result


def env_secret(
    name: str, default: str | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """Return a secret from ``NAME`` or from the file named by ``NAME_FILE`` (not both)."""
    direct = _raw(name, environ)
    file_name = _raw(f"{name}_FILE", environ)
    if direct and file_name:
        raise ImproperlyConfigured(f"Set either {name} or {name}_FILE, not both.")
    if file_name:
        try:
            secret = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(
                f"{name}_FILE={file_name!r} cannot be read ({exc.strerror}): "
                "point it at a readable file holding the secret."
            ) from None
        if not secret:
            raise ImproperlyConfigured(
                f"{name}_FILE={file_name!r} is empty: write the secret in it."
            )
        return secret
    if direct:
        return direct
    return default


def env_path(
    name: str, default: Path, base: Path, environ: Mapping[str, str] | None = None
) -> Path:
    """Return the variable as an absolute path; relative values resolve against ``base``."""
    value = _raw(name, environ)
    path = Path(value).expanduser() if value else default
    return path if path.is_absolute() else (base / path).resolve()
