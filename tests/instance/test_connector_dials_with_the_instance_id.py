"""The connector dials /ws/instance?iid=<its instance id>, so a balancer can keep it and its
phones on one relay worker; the reference client does the same on /ws/app."""

from instance import relay_settings
from instance.connector import read_target
from relayclient.channel import app_url


def test_the_connector_names_its_instance_in_the_url(db, data_dir, licence_token):
    relay_settings.update(
        enabled=True, server_url="wss://relay.example.org", licence_token=licence_token
    )
    assert read_target().url == "wss://relay.example.org/ws/instance?iid=home-1"


def test_the_phone_names_the_instance_it_calls():
    assert app_url("wss://relay.example.org", "home-1") == (
        "wss://relay.example.org/ws/app?iid=home-1"
    )
