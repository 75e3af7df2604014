"""The one client-address rule: the peer, or behind a trusted proxy the hop it appended."""

from relayproto.client_address import client_address


def test_without_a_trusted_proxy_the_peer_is_the_client():
    assert client_address("203.0.113.9", "198.51.100.1", trust_proxy=False) == "203.0.113.9"


def test_behind_a_trusted_proxy_the_last_hop_counts_not_what_the_client_claimed():
    forwarded = "10.0.0.1, 198.51.100.7"  # the client wrote the first, the balancer the last
    assert client_address("127.0.0.1", forwarded, trust_proxy=True) == "198.51.100.7"
    assert client_address("127.0.0.1", b"198.51.100.7", trust_proxy=True) == "198.51.100.7"


def test_a_trusted_proxy_that_sent_no_header_leaves_the_peer():
    assert client_address("127.0.0.1", None, trust_proxy=True) == "127.0.0.1"
    assert client_address("127.0.0.1", " , ", trust_proxy=True) == "127.0.0.1"


def test_no_peer_is_none():
    assert client_address(None, None, trust_proxy=False) is None
    assert client_address("", None, trust_proxy=False) is None
