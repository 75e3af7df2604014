"""Django settings for Relay, read from the environment (see README's configuration table)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from relayproject import __version__
from relayproject.env import (
    env_bool,
    env_host_ports,
    env_int,
    env_list,
    env_path,
    env_secret,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = __version__

# --- data directory -------------------------------------------------------------------------
DATA_DIR = env_path("PULSE_DATA_DIR", Path("data"), base=Path.cwd())


def _ensure_data_dir(path: Path) -> Path:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"PULSE_DATA_DIR={str(path)!r} cannot be created ({exc.strerror}): "
            "point it at a writable directory."
        ) from None
    return path


_ensure_data_dir(DATA_DIR)


def _load_or_create_secret_key(path: Path) -> str:
    """Keep one generated key per data directory so sessions survive restarts."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(50)
    # Written aside, then linked into place: workers starting together on one data directory
    # never see a half-written key, and the one that loses the race reads the winner's.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    try:
        os.link(draft, path)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
    except OSError:  # a filesystem without hard links: create in place, exclusively
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key)
    finally:
        draft.unlink()
    return key


SECRET_KEY = env_secret("PULSE_SECRET_KEY") or _load_or_create_secret_key(DATA_DIR / "secret_key")

# --- core Django ------------------------------------------------------------------------------
DEBUG = env_bool("PULSE_DEBUG", False)
ALLOWED_HOSTS = env_list("PULSE_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("PULSE_CSRF_TRUSTED_ORIGINS", [])

# --- roles: which apps, middleware and routes this process mounts ------------------------------
# A relay-only worker has no models and needs no database: it installs none of the instance's
# apps, so it never runs their migrations, checks or receivers.
PULSE_ROLES = env_list("PULSE_ROLES", ["relay", "instance"])
ROLE_APPS = {
    "relay": ["relay"],
    "instance": [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "rest_framework",
        "drf_spectacular",
        "drf_spectacular_sidecar",
        "instance",
        "pairing",
        "audit",
    ],
}
INSTALLED_APPS = ["daphne", "django.contrib.staticfiles", "channels", "relayproject"]
for _role in PULSE_ROLES:
    INSTALLED_APPS += [app for app in ROLE_APPS.get(_role, []) if app not in INSTALLED_APPS]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the apps' static/ folders, in make run and in production alike.
    "relayproject.static_files.StaticFilesMiddleware",
    # A Content-Security-Policy on every answer: scripts and styles from this origin only.
    "relayproject.csp.ContentSecurityPolicyMiddleware",
]
if "instance" in PULSE_ROLES:
    MIDDLEWARE += [
        # Before CSRF: marks requests from the tunnel (secret header) and drops forged markings.
        "instance.tunnel.auth.TunnelDeviceMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
else:
    MIDDLEWARE += ["django.middleware.common.CommonMiddleware"]

ROOT_URLCONF = "relayproject.urls"
ASGI_APPLICATION = "relayproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                *(
                    [
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                    if "instance" in PULSE_ROLES
                    else []
                ),
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL ({exc}): use e.g. postgres://user@host:5432/name."
        ) from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/settings/relay"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Only for an operator who collects the files for a fronting web server (collectstatic).
STATIC_ROOT = env_str("PULSE_STATIC_ROOT") or None
# Serve straight from the apps' static folders: `make run` needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- channel layer --------------------------------------------------------------------------
# One Redis (REDIS_URL), or the master that Redis Sentinel names (PULSE_REDIS_SENTINELS), for
# both the channel layer and the relay's presence. PULSE_REDIS_HOST is the one description of it.
REDIS_URL = env_str("REDIS_URL")
PULSE_REDIS_SENTINELS = env_host_ports("PULSE_REDIS_SENTINELS", 26379)
PULSE_REDIS_SENTINEL_MASTER = env_str("PULSE_REDIS_SENTINEL_MASTER", "mymaster")
# The master's password (Sentinel mode; with REDIS_URL it goes in the URL).
PULSE_REDIS_PASSWORD = env_secret("PULSE_REDIS_PASSWORD")
if REDIS_URL and PULSE_REDIS_SENTINELS:
    raise ImproperlyConfigured(
        "Both REDIS_URL and PULSE_REDIS_SENTINELS are set: use REDIS_URL for one Redis, or "
        "PULSE_REDIS_SENTINELS (with PULSE_REDIS_SENTINEL_MASTER) for Redis Sentinel, not both."
    )
if PULSE_REDIS_SENTINELS:
    PULSE_REDIS_HOST: dict | None = {
        "sentinels": PULSE_REDIS_SENTINELS,
        "master_name": PULSE_REDIS_SENTINEL_MASTER,
        # An unreachable sentinel or master fails a connection in 5 s instead of hanging.
        "sentinel_kwargs": {"socket_timeout": 5, "socket_connect_timeout": 5},
        "socket_connect_timeout": 5,
        "protocol": 2,
        **({"password": PULSE_REDIS_PASSWORD} if PULSE_REDIS_PASSWORD else {}),
    }
elif REDIS_URL:
    PULSE_REDIS_HOST = {"address": REDIS_URL, "protocol": 2}
else:
    PULSE_REDIS_HOST = None
if PULSE_REDIS_HOST:
    # The pub/sub layer with RESP2: the spike measured the list-based core layer at 8 Redis
    # commands per message, and redis-py's RESP3 pub/sub path doubles per-message cost.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [PULSE_REDIS_HOST],
                "prefix": env_str("PULSE_CHANNEL_PREFIX", "pulse"),
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Relay's own settings (all PULSE_*) -------------------------------------------------------
PULSE_RELAY_ENABLED = env_bool("PULSE_RELAY_ENABLED", False)
PULSE_RELAY_ENABLED_SET = "PULSE_RELAY_ENABLED" in os.environ
PULSE_RELAY_SERVER = env_str("PULSE_RELAY_SERVER")
# A wss:// relay (or its balancer) with a certificate from a private CA: trust only this PEM.
PULSE_RELAY_CA_FILE = env_str("PULSE_RELAY_CA_FILE") or None
# 1 MiB minus the 12-byte header: a whole frame then fits daphne's 1 MiB WebSocket message limit.
PULSE_MAX_FRAME_BYTES = env_int(
    "PULSE_MAX_FRAME_BYTES", (1 << 20) - 12, minimum=1024, maximum=16 << 20
)

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its challenge makes missing credentials a 401 rather than a 403.
        "instance.api.authentication.BearerTokenAuthentication",
        # Sessions stay, and enforce CSRF on unsafe methods.
        "rest_framework.authentication.SessionAuthentication",
    ],
    # A corrupt relay.enc or unusable relay.key answers 503 with the reason.
    "EXCEPTION_HANDLER": "instance.api.errors.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Relay instance API",
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "DESCRIPTION": "Instance API: relay settings, onboarding, devices, API tokens, audit. "
    "Authenticate with `Authorization: Bearer <token>` (scopes) or an owner session (CSRF).",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar's static files: /api/docs/ works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Without deep links an operation's header is one button, not a button holding a link
    # (axe-core's nested-interactive rule).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
}

# --- logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("PULSE_LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "relay": {"level": LOG_LEVEL},
        "instance": {"level": LOG_LEVEL},
        "pairing": {"level": LOG_LEVEL},
        "audit": {"level": LOG_LEVEL},
        "django": {"level": "WARNING"},
        # daphne announces its listening address at INFO; operators and tests rely on it.
        "daphne.server": {"level": "INFO"},
    },
}

# --- relay role: admission and limits (PULSE_RELAY_*) -------------------------------------------
# Operator public keys (base64url raw Ed25519) trusted for licences, besides the key pair that
# `manage.py relay_keygen` writes into the data directory; several allow rotation.
PULSE_RELAY_OPERATOR_PUBLIC_KEYS = env_list("PULSE_RELAY_OPERATOR_PUBLIC_KEYS", [])
PULSE_RELAY_REVOKED_LICENCES = env_list("PULSE_RELAY_REVOKED_LICENCES", [])
PULSE_RELAY_WINDOW_BYTES = env_int(
    "PULSE_RELAY_WINDOW_BYTES", 4 << 20, minimum=64 << 10, maximum=(1 << 31) - 1
)
PULSE_RELAY_MAX_CHANNELS_PER_INSTANCE = env_int(
    "PULSE_RELAY_MAX_CHANNELS_PER_INSTANCE", 256, minimum=1
)
PULSE_RELAY_MAX_APP_SOCKETS_PER_IP = env_int("PULSE_RELAY_MAX_APP_SOCKETS_PER_IP", 64, minimum=1)
PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE = env_int(
    "PULSE_RELAY_CONNECTS_PER_IP_PER_MINUTE", 240, minimum=1
)
# 0 turns the per-instance bandwidth limit off.
PULSE_RELAY_INSTANCE_BYTES_PER_SECOND = env_int(
    "PULSE_RELAY_INSTANCE_BYTES_PER_SECOND", 0, minimum=0
)
PULSE_RELAY_HANDSHAKE_TIMEOUT = env_int("PULSE_RELAY_HANDSHAKE_TIMEOUT", 15, minimum=1)
PULSE_RELAY_IDLE_TIMEOUT = env_int("PULSE_RELAY_IDLE_TIMEOUT", 60, minimum=2)
PULSE_RELAY_PING_INTERVAL = env_int("PULSE_RELAY_PING_INTERVAL", 25, minimum=1)
PULSE_RELAY_DRAIN_GRACE = env_int("PULSE_RELAY_DRAIN_GRACE", 10, minimum=0)
# What a socket may leave unread (bytes the relay wrote that no PONG has confirmed yet): past
# the high-water mark the relay holds the credit it grants, past the hard limit, or stalled that
# long, the socket is closed with OUTPUT_STALLED. Bounds a worker's memory whatever peers do.
PULSE_RELAY_OUTPUT_HIGH_WATER = env_int(
    "PULSE_RELAY_OUTPUT_HIGH_WATER", 8 << 20, minimum=2 << 20, maximum=1 << 30
)
PULSE_RELAY_OUTPUT_HARD_LIMIT = env_int(
    "PULSE_RELAY_OUTPUT_HARD_LIMIT", 32 << 20, minimum=4 << 20, maximum=4 << 30
)
PULSE_RELAY_OUTPUT_STALL_TIMEOUT = env_int(
    "PULSE_RELAY_OUTPUT_STALL_TIMEOUT", 30, minimum=1, maximum=3600
)
# What a worker's cross-worker inbox may hold (frames from other workers not yet handed to their
# sockets). A frame that does not fit resets its channel with RELAY_OVERLOADED at both ends, so
# a starved worker's memory stays bounded and nothing is dropped silently. 16 full 4 MiB windows.
PULSE_RELAY_INBOX_CAPACITY = env_int(
    "PULSE_RELAY_INBOX_CAPACITY", 64 << 20, minimum=1 << 20, maximum=4 << 30
)
# A socket must say hello (an instance REGISTER, a phone its first CONNECT) within this many
# seconds, and an address may hold only so many sockets that have not: half-open sockets
# cannot pile up.
PULSE_RELAY_HELLO_TIMEOUT = env_int("PULSE_RELAY_HELLO_TIMEOUT", 10, minimum=1, maximum=3600)
PULSE_RELAY_MAX_UNGREETED_PER_IP = env_int("PULSE_RELAY_MAX_UNGREETED_PER_IP", 16, minimum=1)
# Routing-token hashes the relay keeps per instance (ROUTES); above it, filtering is off for
# that instance (its handshake still keeps strangers out). About 110 bytes each.
PULSE_RELAY_MAX_ROUTES = env_int("PULSE_RELAY_MAX_ROUTES", 4096, minimum=1, maximum=1_000_000)
# Behind a load balancer: seconds between failing /readyz and sending DRAIN, so the balancer's
# health checks (deploy/haproxy: every 1 s, 2 failures) mark the worker down first and the
# sockets DRAIN moves land on another worker. 0 (alone): DRAIN at once.
PULSE_RELAY_DRAIN_NOTICE = env_int("PULSE_RELAY_DRAIN_NOTICE", 0, minimum=0)
# The retry_after DRAIN carries; unset: 0 with a notice (another worker is ready: reconnect
# now), else the grace (the same worker comes back).
PULSE_RELAY_DRAIN_RETRY_AFTER = (
    env_int("PULSE_RELAY_DRAIN_RETRY_AFTER", 0, minimum=0, maximum=86400)
    if os.environ.get("PULSE_RELAY_DRAIN_RETRY_AFTER", "").strip()
    else None
)
PULSE_RELAY_RESUME_TTL = env_int("PULSE_RELAY_RESUME_TTL", 600, minimum=10)
# Instance: tell the relay which routing tokens may CONNECT (ROUTES), so it turns strangers away.
PULSE_RELAY_ROUTING_TOKENS = env_bool("PULSE_RELAY_ROUTING_TOKENS", True)
# Behind a load balancer, the client address is the last X-Forwarded-For hop it added.
PULSE_TRUST_X_FORWARDED_FOR = env_bool("PULSE_TRUST_X_FORWARDED_FOR", False)

# --- instance API: relay.enc, pairing, devices, audit (owner: api) ----------------------------
# Pairing sessions: single use, this long, this many handshake attempts.
PULSE_PAIRING_TTL_SECONDS = env_int("PULSE_PAIRING_TTL_SECONDS", 300, minimum=30, maximum=3600)
PULSE_PAIRING_MAX_ATTEMPTS = env_int("PULSE_PAIRING_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
# New devices wait for the owner's approval (6-digit code); when set, overrides relay.enc.
PULSE_PAIRING_REQUIRES_APPROVAL = env_bool("PULSE_PAIRING_REQUIRES_APPROVAL", True)
PULSE_PAIRING_REQUIRES_APPROVAL_SET = "PULSE_PAIRING_REQUIRES_APPROVAL" in os.environ
# Channel opens/closes are summarised per device per window so a busy phone cannot flood audit.
PULSE_AUDIT_CHANNEL_WINDOW_SECONDS = env_int(
    "PULSE_AUDIT_CHANNEL_WINDOW_SECONDS", 300, minimum=1, maximum=86400
)
# Default age for `manage.py prune_audit` when --older-than is not given.
PULSE_AUDIT_RETENTION_DAYS = env_int("PULSE_AUDIT_RETENTION_DAYS", 90, minimum=1)
# The connector's status file counts as "not running" after this long without an update.
PULSE_CONNECTOR_STATUS_STALE_SECONDS = env_int(
    "PULSE_CONNECTOR_STATUS_STALE_SECONDS", 90, minimum=10
)

# --- instance tunnel: where paired devices' requests go (owner: tunnel) -----------------------
# Empty: the instance's own Django app, in process. Else a local http(s):// service, e.g.
# http://127.0.0.1:7655 (pulse.E020 when it is not a usable URL).
PULSE_RELAY_UPSTREAM = env_str("PULSE_RELAY_UPSTREAM")
# Seconds to connect to the upstream and to get its response head once the request is in.
PULSE_RELAY_UPSTREAM_TIMEOUT = env_int("PULSE_RELAY_UPSTREAM_TIMEOUT", 30, minimum=1, maximum=3600)
# Requests (and WebSocket opens) per paired device per minute; 0 turns the limit off.
PULSE_RELAY_DEVICE_REQUESTS_PER_MINUTE = env_int(
    "PULSE_RELAY_DEVICE_REQUESTS_PER_MINUTE", 600, minimum=0
)
# Largest request body a device may send through the tunnel (counted while streaming).
PULSE_RELAY_MAX_REQUEST_BYTES = env_int("PULSE_RELAY_MAX_REQUEST_BYTES", 1 << 30, minimum=1)
