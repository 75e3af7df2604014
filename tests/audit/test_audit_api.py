"""GET /api/audit: filters and cursor pagination; CSV and JSON export."""

from __future__ import annotations

import csv
import io
import json

import pytest
import time_machine

from audit import events


@pytest.fixture
def reader(token_client):
    return token_client("audit:read")


@pytest.fixture
def trail(db):
    with time_machine.travel("2030-01-01T00:00:00Z", tick=False):
        events.record("device.revoked", actor="user:owner")
    with time_machine.travel("2030-02-01T00:00:00Z", tick=False):
        for n in range(7):
            events.record("pairing.failed", outcome="failure", details={"n": n})
    with time_machine.travel("2030-03-01T00:00:00Z", tick=False):
        events.record("settings.changed", actor="user:owner")


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def test_list_is_newest_first_and_filters(reader, trail):
    rows = reader.get("/api/audit?outcome=failure").json()["results"]
    assert {r["event"] for r in rows} == {"pairing.failed"}
    assert rows[0]["seq"] > rows[-1]["seq"]
    assert len(reader.get("/api/audit?event=device.revoked").json()["results"]) == 1
    window = reader.get("/api/audit?since=2030-01-15T00:00:00Z&until=2030-02-15T00:00:00Z").json()[
        "results"
    ]
    assert len(window) == 7


def test_cursor_pagination_walks_every_event_once(reader, trail):
    seen = []
    url = "/api/audit?limit=3"
    while url:
        page = reader.get(url).json()
        seen.extend(r["seq"] for r in page["results"])
        url = page["next"]
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) >= 9


def test_bad_filter_is_400(reader, trail):
    assert reader.get("/api/audit?since=yesterday").status_code == 400
    assert reader.get("/api/audit?outcome=maybe").status_code == 400


def test_rows_carry_the_chain(reader, trail):
    row = reader.get("/api/audit?limit=1").json()["results"][0]
    assert len(row["hash"]) == 64
    assert len(row["prev_hash"]) == 64


def test_csv_export(reader, trail):
    response = reader.get("/api/audit/export.csv?outcome=failure")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(content(response).decode())))
    assert len(rows) == 7
    assert json.loads(rows[0]["details"]) == {"n": 0}


def test_json_export_is_oldest_first(reader, trail):
    response = reader.get("/api/audit/export.json")
    rows = json.loads(content(response))
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs)
    names = [r["event"] for r in rows if r["event"] != "token.created"]
    assert names[0] == "device.revoked"
    assert names[-1] == "settings.changed"
