"""Both sockets' URLs carry the instance id (?iid=) for a load balancer to hash on."""

from hypothesis import given
from hypothesis import strategies as st

from relayproto.socket_urls import APP_PATH, INSTANCE_PATH, instance_hint, socket_url


def test_the_path_and_the_instance_are_added_to_a_base_url():
    assert socket_url("wss://relay.example.org", APP_PATH, "home-1") == (
        "wss://relay.example.org/ws/app?iid=home-1"
    )
    assert socket_url("ws://127.0.0.1:8000/", INSTANCE_PATH, "h") == (
        "ws://127.0.0.1:8000/ws/instance?iid=h"
    )


def test_a_url_that_has_the_path_already_keeps_it_once():
    assert socket_url("wss://r.example/ws/app", APP_PATH, "x") == "wss://r.example/ws/app?iid=x"
    assert socket_url("wss://r.example/ws/app?iid=old", APP_PATH, "new").endswith("?iid=new")


def test_without_an_instance_there_is_no_query():
    assert socket_url("wss://r.example", APP_PATH, "") == "wss://r.example/ws/app"


def test_the_hint_is_read_back_and_ambiguity_is_no_hint():
    assert instance_hint(b"iid=home-1") == "home-1"
    assert instance_hint("") is None
    assert instance_hint(b"iid=a&iid=b") is None
    assert instance_hint(b"other=1") is None


@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1))
def test_any_instance_id_survives_the_url(instance_id):
    url = socket_url("wss://r.example", APP_PATH, instance_id)
    assert instance_hint(url.split("?", 1)[1].encode("latin-1")) == instance_id
