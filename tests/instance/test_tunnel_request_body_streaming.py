"""A 20 MiB request body streams through the tunnel into the in-process app intact."""

import hashlib

import pytest

from instance.tunnel import Tunnel
from tests.instance.tunnel_support import fetch, json_body, tunnel_phone

pytestmark = pytest.mark.urls("tests.instance.tunnel_urls")


async def test_a_20_mib_post_reaches_the_view_byte_for_byte(settings):
    settings.PULSE_RELAY_UPSTREAM = ""
    upload = bytes(range(256)) * (20 * 4096)  # 20 MiB, more than the 1 MiB stream window
    async with tunnel_phone(Tunnel()) as phone:
        head, body = await fetch(
            phone,
            "POST",
            "/tunnel-test/sha256",
            [("content-type", "application/octet-stream")],
            upload,
            timeout=60,
        )
    assert head.status == 200, body
    assert json_body(body) == {"sha256": hashlib.sha256(upload).hexdigest(), "size": len(upload)}
