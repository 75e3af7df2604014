"""A socket that grants credit but does not read what the relay sends it: past the high-water
mark the relay holds its credit (so the other end stops), releases it once PONGs show the
socket read, and closes it with OUTPUT_STALLED past the hard limit."""

from __future__ import annotations

from relayproto.frames import (
    WS_CLOSE_CODES,
    ErrorCode,
    FrameType,
    decode_frame,
    encode_credit,
    encode_frame,
    encode_ping,
)
from tests.relay.relay_client import FrameClient, data_frame, open_channel, registered_instance

BLOCK = b"x" * (256 * 1024 - 12)


async def channel(relay_app, licence_token):
    instance, _ = await registered_instance(relay_app, licence_token)
    phone = FrameClient(relay_app, "/ws/app")
    await phone.connect()
    cid = await open_channel(phone, instance, "home-1")
    return instance, phone, cid


async def unread_output(client: FrameClient) -> list[bytes]:
    """Everything the relay queued for ``client``, without answering its PINGs."""
    queued = []
    while not await client.communicator.receive_nothing(0.05):
        message = await client.communicator.receive_output(1)
        if message["type"] == "websocket.close":
            client.close_code = message.get("code")
            queued.append(b"CLOSE")
            break
        queued.append(message["bytes"])
    return queued


async def settled(instance: FrameClient) -> None:
    """Until the relay has handled (and delivered) everything the instance sent."""
    await instance.send(encode_ping(b"settled!"))
    while (await instance.recv()).type is not FrameType.PONG:
        pass


async def credit_reaching(instance: FrameClient) -> int:
    total = 0
    while not await instance.communicator.receive_nothing(0.1):
        frame = await instance.recv(1)
        if frame.type is FrameType.CREDIT:
            total += int.from_bytes(bytes(frame.payload), "big")
    return total


async def test_credit_is_held_past_the_high_water_mark_and_released_after_reading(
    settings, relay_app, licence_token
):
    settings.PULSE_RELAY_OUTPUT_HIGH_WATER = 2 << 20
    instance, phone, cid = await channel(relay_app, licence_token)
    for _ in range(12):  # 3 MiB the phone does not read (within the 4 MiB window)
        await instance.send(data_frame(cid, BLOCK))
    await settled(instance)
    await phone.send(encode_credit(cid, 12 * len(BLOCK)))  # it claims it read them
    assert await credit_reaching(instance) == 0  # held: the instance must not send more

    queued = await unread_output(phone)  # now the phone reads, and answers the probes
    pings = [decode_frame(q) for q in queued if decode_frame(q).type is FrameType.PING]
    assert pings, "the relay sent no probe PINGs"
    for ping in pings:
        await phone.send(encode_frame(FrameType.PONG, 0, bytes(ping.payload)))
    assert await credit_reaching(instance) == 12 * len(BLOCK)  # released once it was read
    await phone.close()
    await instance.close()


async def test_a_socket_past_the_hard_limit_is_closed_with_output_stalled(
    settings, relay_app, licence_token
):
    settings.PULSE_RELAY_OUTPUT_HIGH_WATER = 2 << 20
    settings.PULSE_RELAY_OUTPUT_HARD_LIMIT = 4 << 20
    settings.PULSE_RELAY_WINDOW_BYTES = 16 << 20
    instance, phone, cid = await channel(relay_app, licence_token)
    for _ in range(24):  # 6 MiB, never read
        await instance.send(data_frame(cid, BLOCK))
    queued = await unread_output(phone)
    assert queued[-1] == b"CLOSE"
    assert phone.close_code == WS_CLOSE_CODES[ErrorCode.OUTPUT_STALLED]
    frames = [decode_frame(q) for q in queued[:-1]]
    errors = [f for f in frames if f.type is FrameType.ERROR]
    assert errors and b"OUTPUT_STALLED" in bytes(errors[-1].payload)
    # The instance's end of the channel is told.
    frame = await instance.recv()
    assert frame.type is FrameType.CLOSE and frame.channel_id == cid
    await instance.close()


async def test_credit_granted_ahead_of_the_data_never_gets_the_sender_closed(
    relay_app, licence_token
):
    instance, phone, cid = await channel(relay_app, licence_token)
    await phone.send(encode_credit(cid, 64 << 20))  # for bytes the instance never sent
    assert await credit_reaching(instance) == 0  # nothing in flight: nothing passed on
    for _ in range(16):  # exactly the window
        await instance.send(data_frame(cid, BLOCK))
    await settled(instance)
    for data in await unread_output(phone):  # the phone reads it all, answering probes
        frame = decode_frame(data)
        if frame.type is FrameType.PING:
            await phone.send(encode_frame(FrameType.PONG, 0, bytes(frame.payload)))
    await phone.send(encode_credit(cid, 64 << 20))
    assert await credit_reaching(instance) == 16 * len(BLOCK)  # only what was in flight
    await instance.send(data_frame(cid, BLOCK))  # and the instance may go on: not closed
    await settled(instance)
    await phone.close()
    await instance.close()
