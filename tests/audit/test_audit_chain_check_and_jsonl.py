"""The audit API checks the chain on demand, exports JSON Lines and filters by actor."""

import json

from django.db import connection

from audit import events


def record_three():
    events.record("settings.changed", actor="user:owner")
    events.record("device.approved", actor="user:owner")
    events.record("channel.opened", actor="device:ab12")


def test_an_intact_chain_says_through_which_event(token_client, data_dir):
    client = token_client("audit:read")  # its creation is event #1
    record_three()
    body = client.get("/api/audit/verify").json()
    assert body == {"intact": True, "checked": 4, "through": 4, "broken_at": None, "reason": ""}


def test_an_edited_event_is_where_the_chain_breaks(token_client, data_dir):
    client = token_client("audit:read")
    record_three()
    with connection.cursor() as cursor:  # behind the model's append-only guard, as an attacker
        cursor.execute("UPDATE audit_auditevent SET actor = 'user:mallory' WHERE seq = 3")
    body = client.get("/api/audit/verify").json()
    assert body["intact"] is False and body["broken_at"] == 3
    assert "edited" in body["reason"]


def test_json_lines_export_is_one_event_a_line_oldest_first(token_client, data_dir):
    client = token_client("audit:read")
    record_three()
    response = client.get("/api/audit/export.jsonl")
    assert response["Content-Type"].startswith("application/jsonl")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [1, 2, 3, 4]


def test_the_actor_filter_matches_part_of_the_actor(token_client, data_dir):
    record_three()
    found = token_client("audit:read").get("/api/audit?actor=device:").json()["results"]
    assert [row["event"] for row in found] == ["channel.opened"]
