"""Two real daphne workers sharing Redis deliver a message from a client of one to the other."""

import asyncio
import json

import pytest
import websockets

pytestmark = pytest.mark.slow


async def test_message_sent_on_worker_a_arrives_at_a_client_of_worker_b(daphne_workers):
    worker_a, worker_b = daphne_workers(2, app="tests.harness.echo_asgi:application")
    async with (
        websockets.connect(f"{worker_b.ws_url}/test/echo/room1") as listener,
        websockets.connect(f"{worker_a.ws_url}/test/echo/room1") as sender,
    ):
        await sender.send("hello across workers")
        heard = json.loads(await asyncio.wait_for(listener.recv(), timeout=10))
    assert heard["text"] == "hello across workers"
    assert heard["from_pid"] == worker_a.process.pid
    assert heard["to_pid"] == worker_b.process.pid


async def test_rooms_do_not_leak_between_groups(daphne_workers):
    worker_a, worker_b = daphne_workers(2, app="tests.harness.echo_asgi:application")
    async with (
        websockets.connect(f"{worker_b.ws_url}/test/echo/other") as bystander,
        websockets.connect(f"{worker_b.ws_url}/test/echo/room2") as listener,
        websockets.connect(f"{worker_a.ws_url}/test/echo/room2") as sender,
    ):
        await sender.send("private")
        assert json.loads(await asyncio.wait_for(listener.recv(), timeout=10))["text"] == "private"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(bystander.recv(), timeout=0.5)
