"""A 200 MiB streamed download through the tunnel keeps the process's memory bounded."""

import asyncio
import tracemalloc

import pytest

from instance.monitor.sampling import process_rss_bytes
from instance.tunnel import Tunnel
from relayproto.inner import StreamKind
from tests.instance.tunnel_support import header, tunnel_phone

pytestmark = pytest.mark.urls("tests.instance.tunnel_urls")

SIZE = 200 << 20
# Windows in flight (relay 4 MiB, stream 1 MiB) plus per-chunk buffers: far below the body.
TRACED_PEAK_LIMIT = 24 << 20
RSS_GROWTH_LIMIT = 64 << 20


async def test_200_mib_download_streams_with_bounded_memory(settings):
    settings.PULSE_RELAY_UPSTREAM = ""
    received = 0
    pattern_ok = True
    async with tunnel_phone(Tunnel()) as phone:
        # Warm up (imports, URL resolver, first-request caches) before measuring.
        warm = await phone.open_stream(
            StreamKind.HTTP, "GET", "/tunnel-test/download?size=1024", end=True
        )
        await warm.response_head()
        await warm.read_all()
        rss_before = process_rss_bytes()
        rss_peak = rss_before
        tracemalloc.start()
        try:
            stream = await phone.open_stream(
                StreamKind.HTTP, "GET", f"/tunnel-test/download?size={SIZE}", end=True
            )
            head = await asyncio.wait_for(stream.response_head(), 10)
            assert head.status == 200
            assert header(head, "content-length") == str(SIZE)
            async with asyncio.timeout(240):
                while chunk := await stream.read():
                    if received % (8 << 20) < len(chunk):
                        rss_peak = max(rss_peak, process_rss_bytes())
                        pattern_ok &= chunk[0] == received % 256
                    received += len(chunk)
            _, traced_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    rss_growth = rss_peak - rss_before
    print(f"200 MiB download: traced peak {traced_peak / 2**20:.1f} MiB, "
          f"RSS growth {rss_growth / 2**20:.1f} MiB")  # fmt: skip
    assert received == SIZE
    assert pattern_ok
    assert traced_peak < TRACED_PEAK_LIMIT
    assert rss_growth < RSS_GROWTH_LIMIT
