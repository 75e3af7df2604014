"""Shared fixtures: real Redis, real daphne workers, and the personas.

Django is imported lazily so that the framework-free protocol tests run without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.cluster import Cluster, start_cluster
from tests.harness.daphne_workers import (
    Worker,
    migrate,
    start_worker,
    wait_until_healthy,
    worker_env,
)
from tests.harness.redis_server import RedisServer, provide_redis, start_redis


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report so fixtures can print logs when a test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _failed(request) -> bool:
    return any(
        getattr(request.node, f"rep_{when}", None) is not None
        and getattr(request.node, f"rep_{when}").failed
        for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis shared by the session: REDIS_URL if set, else one we start. Never skips."""
    server = provide_redis()
    yield server
    server.stop()


@pytest.fixture
def cluster(request, tmp_path) -> Iterator[Callable[..., Cluster]]:
    """The ``make cluster`` cluster (Redis, three relay workers, HAProxy, a home instance):
    call it with ``tls=True`` or extra env; it stops everything afterwards and prints every
    log when the test failed."""
    started: list[Cluster] = []

    def start(**options) -> Cluster:
        started.append(start_cluster(tmp_path / f"cluster{len(started)}", **options))
        return started[-1]

    yield start
    for running in started:
        if _failed(request):
            print(running.logs())
        running.stop()


@pytest.fixture
def private_redis(request) -> Iterator[RedisServer]:
    """A Redis of this test's own, which the test may stop to simulate an outage."""
    server = start_redis()
    yield server
    if _failed(request):
        print(f"--- redis log ---\n{server.logs()}")
    server.stop()


@pytest.fixture
def channel_prefix() -> str:
    """A channel-layer prefix unique to this test, so tests sharing a Redis never cross."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def daphne_workers(request, tmp_path, redis_server, channel_prefix) -> Iterator[Callable]:
    """Start N real daphne workers sharing one data dir and Redis; stops them afterwards.

    Call it as ``daphne_workers(2, env={...}, app="module:application")``; it returns the
    workers once each answers /healthz. ``server="uvicorn"`` serves the same app with uvicorn,
    ``server="serve"`` runs ``manage.py serve``; ``data=`` gives them a data dir of their own.
    """
    started: list[Worker] = []
    data_dir = tmp_path / "data"
    log_dir = tmp_path / "logs"
    log_dir.mkdir()
    migrated: set[str] = set()

    def start(
        count: int = 1,
        *,
        env: dict | None = None,
        app: str = "relayproject.asgi:application",
        redis: RedisServer | None = None,
        server: str = "daphne",
        data: Path | None = None,
        port: int = 0,
    ) -> list[Worker]:
        url = (redis or redis_server).url
        directory = data or data_dir
        full_env = worker_env(directory, url, channel_prefix, env)
        # A relay-only worker has no database to prepare.
        relay_only = full_env.get("PULSE_ROLES", "").replace(" ", "") == "relay"
        if not relay_only and str(directory) not in migrated:
            migrate(full_env)
            migrated.add(str(directory))
        batch = [
            start_worker(f"worker{len(started) + i}", full_env, log_dir, app, server, port)
            for i in range(count)
        ]
        started.extend(batch)
        for worker in batch:
            wait_until_healthy(worker)
        return batch

    yield start
    for worker in started:
        worker.stop()
    if _failed(request):
        for worker in started:
            print(f"--- {worker.name} (port {worker.port}) log ---\n{worker.logs()}")


# --- personas ---------------------------------------------------------------------------------

OWNER_PASSWORD = "correct horse battery staple"


@pytest.fixture
def owner(db):
    """The instance's owner: the admin login made on first run."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("owner", "", OWNER_PASSWORD)


@pytest.fixture
def owner_client(owner, client):
    """A browser session logged in as the owner."""
    client.force_login(owner)
    return client


@pytest.fixture
def stranger_client(db):
    """Someone with no login and no token."""
    from django.test import Client

    return Client()


# --- relay operator and licences ----------------------------------------------------------------


@pytest.fixture
def relay_data_dir(settings, tmp_path):
    """A private data directory for this test's relay."""
    data_dir = tmp_path / "relay-data"
    data_dir.mkdir(mode=0o700)
    settings.DATA_DIR = data_dir
    return data_dir


@pytest.fixture
def operator_key(relay_data_dir):
    """The relay operator's signing key, written where the relay looks for it."""
    from relay import operator

    return operator.generate(relay_data_dir)


@pytest.fixture
def licence_token(operator_key):
    """A valid licence for instance 'home-1'."""
    from relayproto import licence

    return licence.issue(operator_key, name="home", days=30, instance_id="home-1")


@pytest.fixture
def relay_app(settings, operator_key):
    """The real ASGI application with quick timers; the relay needs no database."""
    from relayproject.asgi import application

    settings.PULSE_RELAY_HANDSHAKE_TIMEOUT = 2
    settings.PULSE_RELAY_HELLO_TIMEOUT = 2
    return application


# --- instance API personas (relay.enc, tokens, pairing, devices) ------------------------------


@pytest.fixture
def data_dir(settings, relay_data_dir):
    """The test's PULSE_DATA_DIR (shared with the relay's), no environment overrides."""
    from audit import events

    path = relay_data_dir
    settings.PULSE_RELAY_ENABLED_SET = False
    settings.PULSE_RELAY_SERVER = ""
    settings.PULSE_PAIRING_REQUIRES_APPROVAL_SET = False
    events.reset_aggregation()
    yield path
    events.reset_aggregation()


@pytest.fixture
def api_token(db, data_dir) -> Callable[..., str]:
    """Factory: ``api_token("settings:read", ...)`` returns a new token's plaintext."""
    from instance import tokens

    def make(*scopes: str, name: str = "test") -> str:
        return tokens.create_token(name, scopes or tokens.SCOPES)[1]

    return make


@pytest.fixture
def token_client(api_token) -> Callable[..., object]:
    """Factory: a test client that sends ``Authorization: Bearer`` for a token with scopes."""
    from django.test import Client

    def make(*scopes: str):
        return Client(HTTP_AUTHORIZATION=f"Bearer {api_token(*scopes)}")

    return make


@pytest.fixture
def csrf_owner_client(owner):
    """The owner's browser session with CSRF checks on, as a real browser gets."""
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    return client


@pytest.fixture
def relay_ready(db, data_dir, licence_token):
    """An instance that can pair: enabled, relay URL, licence, identity, connector registered."""
    from instance import relay_settings
    from instance import status as connector_status

    current = relay_settings.update(
        enabled=True, server_url="wss://relay.example.org", licence_token=licence_token
    )
    connector_status.publish(
        connector_status.ConnectorStatus(
            state="connected", instance_id=current.instance_id, registered=True
        )
    )
    return relay_settings.current()


def _pair_device(name: str):
    from pairing import sessions
    from relayproto import handshake

    _session, invite = sessions.create_pairing_session(actor="test")
    sessions.psk_for_pairing_attempt(invite.pairing_id)
    private = handshake.generate_static_key()
    device, psk = sessions.complete_pairing(
        invite.pairing_id, handshake.public_key(private), name, "android", "123456"
    )
    return device, private, psk


@pytest.fixture
def pending_device(relay_ready):
    """A phone that completed pairing and waits for approval (code 123456)."""
    return _pair_device("Pending phone")[0]


@pytest.fixture
def paired_device(relay_ready):
    """An approved phone: (device, static private key, psk)."""

    device, private, psk = _pair_device("Owner's phone")
    device = device.approve("123456", actor="test")
    return device, private, psk


@pytest.fixture
def revoked_device(relay_ready):
    """A phone that was paired, approved and then revoked."""

    device, _, _ = _pair_device("Lost phone")
    device.approve("123456", actor="test")
    device.revoke(actor="test")
    device.refresh_from_db()
    return device
