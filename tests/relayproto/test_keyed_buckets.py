"""The project's one rate limiter: a token bucket per key, bounded in keys, 0 meaning no limit."""

from relayproto import ratelimit
from relayproto.ratelimit import KeyedBuckets


def test_a_key_gets_its_burst_then_waits_for_the_refill(monkeypatch):
    now = [1000.0]  # the buckets read the monotonic clock, which time-machine leaves alone
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    limiter = KeyedBuckets(per_minute=3)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert 19.9 < limiter.retry_after("a") <= 20.0  # one token comes back every 20 s
    assert limiter.allow("b")  # other keys are not affected
    now[0] += 20
    assert limiter.allow("a")


def test_zero_per_minute_means_no_limit():
    limiter = KeyedBuckets(per_minute=0)
    assert all(limiter.retry_after("device") == 0.0 for _ in range(1000))


def test_the_oldest_key_is_forgotten_past_max_keys():
    limiter = KeyedBuckets(per_minute=1, max_keys=2)
    for key in ("a", "b", "c"):
        assert limiter.allow(key)
    assert limiter.allow("a")  # forgotten, so a fresh bucket
    assert not limiter.allow("c")
