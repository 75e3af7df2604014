"""Settings come from the environment; bad values stop start-up with the variable's name."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

DUMP = (
    "import json, django; from django.conf import settings; django.setup();"
    "print(json.dumps({'layer': settings.CHANNEL_LAYERS['default'],"
    " 'db': settings.DATABASES['default']['ENGINE'],"
    " 'db_name': str(settings.DATABASES['default']['NAME']),"
    " 'roles': settings.PULSE_ROLES, 'enabled': settings.PULSE_RELAY_ENABLED,"
    " 'server': settings.PULSE_RELAY_SERVER, 'secret': settings.SECRET_KEY,"
    " 'data_dir': str(settings.DATA_DIR), 'debug': settings.DEBUG}))"
)


def load_settings(tmp_path, **env):
    """Import the settings in a fresh interpreter with exactly this environment."""
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "relayproject.settings"}
    base.setdefault("PULSE_DATA_DIR", str(tmp_path / "data"))
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", DUMP], cwd=ROOT, env=base, capture_output=True, text=True
    )


def test_defaults_are_sqlite_in_the_data_dir_and_the_in_memory_layer(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["layer"]["BACKEND"] == "channels.layers.InMemoryChannelLayer"
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "data" / "db.sqlite3")
    assert values["roles"] == ["relay", "instance"]
    assert values["enabled"] is False
    assert values["debug"] is False


def test_data_dir_is_created_private(tmp_path):
    assert load_settings(tmp_path).returncode == 0
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700


def test_generated_secret_key_is_kept_across_starts_and_private(tmp_path):
    first = json.loads(load_settings(tmp_path).stdout)["secret"]
    second = json.loads(load_settings(tmp_path).stdout)["secret"]
    assert first == second and len(first) >= 50
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_workers_starting_together_on_one_data_dir_agree_on_one_key(tmp_path):
    base = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "relayproject.settings",
        "PULSE_DATA_DIR": str(tmp_path / "data"),
    }
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", DUMP], cwd=ROOT, env=base, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    keys = {json.loads(start.communicate(timeout=60)[0])["secret"] for start in starts}
    assert all(start.returncode == 0 for start in starts)
    assert keys == {(tmp_path / "data" / "secret_key").read_text()}
    assert [f.name for f in (tmp_path / "data").iterdir() if "secret" in f.name] == ["secret_key"]


def test_redis_sentinel_settings_feed_the_channel_layer(tmp_path):
    result = load_settings(
        tmp_path,
        PULSE_REDIS_SENTINELS="10.0.0.5:26379, 10.0.0.6,[::1]:26380",
        PULSE_REDIS_SENTINEL_MASTER="relay",
        PULSE_REDIS_PASSWORD="s3cret",
    )
    assert result.returncode == 0, result.stderr
    layer = json.loads(result.stdout)["layer"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["hosts"] == [
        {
            "sentinels": [["10.0.0.5", 26379], ["10.0.0.6", 26379], ["::1", 26380]],
            "master_name": "relay",
            "sentinel_kwargs": {"socket_timeout": 5, "socket_connect_timeout": 5},
            "socket_connect_timeout": 5,
            "protocol": 2,
            "password": "s3cret",
        }
    ]


def test_redis_url_and_sentinels_together_are_refused(tmp_path):
    result = load_settings(
        tmp_path, REDIS_URL="redis://127.0.0.1:6379/0", PULSE_REDIS_SENTINELS="10.0.0.5:26379"
    )
    assert result.returncode != 0
    assert "use REDIS_URL for one Redis, or PULSE_REDIS_SENTINELS" in result.stderr


def test_a_sentinel_address_without_a_usable_port_names_the_fix(tmp_path):
    result = load_settings(tmp_path, PULSE_REDIS_SENTINELS="10.0.0.5:notaport")
    assert result.returncode != 0
    assert "host:port pairs separated by commas" in result.stderr


def test_secret_key_from_file(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("k" * 60)
    result = load_settings(tmp_path, PULSE_SECRET_KEY_FILE=str(key_file))
    assert json.loads(result.stdout)["secret"] == "k" * 60


def test_redis_url_selects_the_redis_pubsub_layer_with_resp2(tmp_path):
    result = load_settings(tmp_path, REDIS_URL="redis://127.0.0.1:6379/0")
    layer = json.loads(result.stdout)["layer"]
    assert layer["BACKEND"] == "channels_redis.pubsub.RedisPubSubChannelLayer"
    assert layer["CONFIG"]["hosts"] == [{"address": "redis://127.0.0.1:6379/0", "protocol": 2}]


def test_database_url_selects_postgresql(tmp_path):
    result = load_settings(tmp_path, DATABASE_URL="postgres://postgres@127.0.0.1:5432/test")
    assert json.loads(result.stdout)["db"] == "django.db.backends.postgresql"


def test_relay_variables_keep_their_published_names(tmp_path):
    result = load_settings(
        tmp_path, PULSE_RELAY_ENABLED="true", PULSE_RELAY_SERVER="wss://relay.example.org"
    )
    values = json.loads(result.stdout)
    assert values["enabled"] is True
    assert values["server"] == "wss://relay.example.org"


def test_bad_boolean_stops_start_up_naming_the_variable(tmp_path):
    result = load_settings(tmp_path, PULSE_RELAY_ENABLED="sometimes")
    assert result.returncode != 0
    assert "PULSE_RELAY_ENABLED='sometimes' is not a boolean" in result.stderr


def test_bad_integer_stops_start_up_naming_the_variable(tmp_path):
    result = load_settings(tmp_path, PULSE_MAX_FRAME_BYTES="1MB")
    assert result.returncode != 0
    assert "PULSE_MAX_FRAME_BYTES='1MB' is not a whole number" in result.stderr


def test_bad_database_url_stops_start_up_naming_the_variable(tmp_path):
    result = load_settings(tmp_path, DATABASE_URL="nosuchdb://x")
    assert result.returncode != 0
    assert "DATABASE_URL is not a database URL" in result.stderr


def test_unwritable_data_dir_stops_start_up_naming_the_variable(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = load_settings(tmp_path, PULSE_DATA_DIR=str(blocker / "data"))
    assert result.returncode != 0
    assert "PULSE_DATA_DIR=" in result.stderr
