"""PULSE_ROLES chooses the installed apps, the middleware, the URLs and the WebSocket routes."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DUMP = """
import json, django
from django.conf import settings
django.setup()
from django.urls import get_resolver
from relayproject.routing import websocket_urlpatterns
print(json.dumps({
    "apps": settings.INSTALLED_APPS,
    "middleware": settings.MIDDLEWARE,
    "urls": sorted(str(p.pattern) for p in get_resolver().url_patterns),
    "sockets": sorted(str(r.pattern) for r in websocket_urlpatterns()),
}))
"""

HOME_APPS = {"instance", "pairing", "audit", "django.contrib.auth", "rest_framework"}


def layout(tmp_path, roles: str) -> dict:
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "relayproject.settings",
        "PULSE_DATA_DIR": str(tmp_path / "data"),
        "PULSE_ROLES": roles,
    }
    result = subprocess.run(
        [sys.executable, "-c", DUMP], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_relay_only_process_mounts_nothing_of_the_instance(tmp_path):
    relay = layout(tmp_path, "relay")
    assert "relay" in relay["apps"] and not HOME_APPS & set(relay["apps"])
    assert not any("Session" in m or "Tunnel" in m or "Csrf" in m for m in relay["middleware"])
    assert relay["urls"] == ["", "healthz"]  # "" includes only readyz and metrics
    assert relay["sockets"] == ["ws/app", "ws/instance"]


def test_a_home_instance_mounts_none_of_the_relay_sockets(tmp_path):
    home = layout(tmp_path, "instance")
    assert set(home["apps"]) >= HOME_APPS and "relay" not in home["apps"]
    assert home["sockets"] == ["ws/monitor"]
    assert "healthz" in home["urls"] and "api/" in home["urls"]


@pytest.mark.parametrize("roles", ["relay,instance", "instance,relay"])
def test_both_roles_mount_both(tmp_path, roles):
    both = layout(tmp_path, roles)
    assert set(both["apps"]) >= HOME_APPS and "relay" in both["apps"]
    assert both["sockets"] == ["ws/app", "ws/instance", "ws/monitor"]


def test_the_relay_app_has_no_models():
    from django.apps import apps

    assert list(apps.get_app_config("relay").get_models()) == []
