"""ApiToken moved from the relay app to the instance app without moving data: a database made
before the move keeps its tokens, and a new database gets the same table."""

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What the relay app's old migration 0001 left in a database (SQLite), with one token in it.
BEFORE_THE_MOVE = """
CREATE TABLE django_migrations (id integer PRIMARY KEY AUTOINCREMENT, app varchar(255) NOT NULL,
    name varchar(255) NOT NULL, applied datetime NOT NULL);
INSERT INTO django_migrations (app, name, applied) VALUES ('relay', '0001_initial', '2026-11-22');
CREATE TABLE relay_apitoken (id integer PRIMARY KEY AUTOINCREMENT, name varchar(100) NOT NULL,
    prefix varchar(16) NOT NULL, token_hash varchar(64) NOT NULL UNIQUE, scopes text NOT NULL
    CHECK ((JSON_VALID(scopes) OR scopes IS NULL)), created_at datetime NOT NULL,
    created_by varchar(200) NOT NULL, last_used_at datetime NULL, revoked_at datetime NULL);
"""

STORE_TOKEN = """
import django; django.setup()
from instance import tokens
print(tokens.hash_token("pulse_kept-from-before"))
"""

CHECK_TOKEN = """
import django; django.setup()
from instance import tokens
token = tokens.authenticate_token("pulse_kept-from-before")
print(token.name if token else "missing")
"""


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def environment(tmp_path) -> tuple[dict, Path]:
    database = tmp_path / "old.sqlite3"
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "relayproject.settings",
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{database}",
    }
    return env, database


def test_a_database_from_before_the_move_keeps_its_tokens(tmp_path):
    env, database = environment(tmp_path)
    hashed = run(env, "-c", STORE_TOKEN)
    assert hashed.returncode == 0, hashed.stderr
    with sqlite3.connect(database) as db:
        db.executescript(BEFORE_THE_MOVE)
        db.execute(
            "INSERT INTO relay_apitoken (name, prefix, token_hash, scopes, created_at, created_by)"
            " VALUES ('phone-era token', 'pulse_kept-f', ?, '[\"settings:read\"]', "
            "'2026-11-22 05:48:00', 'owner')",
            (hashed.stdout.strip(),),
        )

    migrated = run(env, "manage.py", "migrate", "--no-input", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr

    checked = run(env, "-c", CHECK_TOKEN)
    assert checked.stdout.strip() == "phone-era token", checked.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        applied = set(db.execute("SELECT app, name FROM django_migrations"))
    assert "relay_apitoken" in tables and "instance_apitoken" not in tables
    assert ("instance", "0001_initial") in applied


def test_a_new_database_gets_the_table_under_its_old_name(tmp_path):
    env, database = environment(tmp_path)
    migrated = run(env, "manage.py", "migrate", "--no-input", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "relay_apitoken" in tables
    assert run(env, "manage.py", "makemigrations", "--check", "--dry-run").returncode == 0
