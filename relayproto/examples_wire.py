"""Worked examples of outer frames and inner messages, for docs/protocol.md.

``python -m relayproto.examples_wire`` prints them as Markdown; a test checks that every hex
string appears verbatim in the docs so the two cannot drift apart. Channel 7 and instance
``home-1`` match the crypto examples.
"""

from __future__ import annotations

from dataclasses import dataclass

from relayproto import PROTOCOL_VERSION, control, frames, inner

CHANNEL_ID = 7
INSTANCE_ID = "home-1"


@dataclass(frozen=True)
class Example:
    """One labelled wire example: what it is and its exact bytes."""

    label: str
    description: str
    data: bytes


def outer_examples() -> list[Example]:
    """Outer frames, as whole WebSocket binary messages (the DATA one as its header only)."""
    limits = control.Limits(max_frame=1048576, window=4194304, max_channels=64, ping_interval=20)
    return [
        Example(
            "register",
            "REGISTER, instance → relay, channel 0 (a made-up licence token)",
            control.encode_control(
                control.Register(licence="pulse-lic1.e30.c2ln", client="pulse-relay/0.1.0")
            ),
        ),
        Example(
            "register_ack",
            "REGISTER_ACK, relay → instance, channel 0",
            control.encode_control(control.RegisterAck(INSTANCE_ID, "r-5f2a", 1767225600, limits)),
        ),
        Example(
            "connect",
            "CONNECT, app → relay, channel 0, ref 1",
            control.encode_control(control.Connect(ref=1, instance_id=INSTANCE_ID)),
        ),
        Example(
            "connect_ack",
            "CONNECT_ACK, relay → app, the new channel 7 in the header",
            control.encode_control(
                control.ConnectAck(ref=1, window=4194304, max_frame=1048576), CHANNEL_ID
            ),
        ),
        Example(
            "open",
            "OPEN, relay → instance, channel 7",
            control.encode_control(control.Open(window=4194304, max_frame=1048576), CHANNEL_ID),
        ),
        Example(
            "data_header",
            "header of a DATA frame on channel 7 with a 262144-byte payload",
            frames.encode_header(frames.FrameType.DATA, CHANNEL_ID, 262144),
        ),
        Example(
            "credit",
            "CREDIT, channel 7, 262144 more bytes",
            frames.encode_credit(CHANNEL_ID, 262144),
        ),
        Example(
            "ping",
            "PING, channel 0, 8 opaque bytes",
            frames.encode_ping(bytes.fromhex("0000000000000001")),
        ),
        Example(
            "error",
            "ERROR, relay → app, refusing the CONNECT with ref 1",
            control.encode_control(
                control.Error(frames.ErrorCode.INSTANCE_OFFLINE, "instance is offline", ref=1)
            ),
        ),
        Example(
            "close",
            "CLOSE, channel 7, normal end",
            control.encode_control(control.Close(control.CloseReason.NORMAL), CHANNEL_ID),
        ),
        Example(
            "drain",
            "DRAIN, relay → endpoint, channel 0",
            control.encode_control(control.Drain(retry_after=5)),
        ),
    ]


def inner_examples() -> list[Example]:
    """A POST with a JSON body and its answer, each message one record plaintext."""
    return [
        Example(
            "stream_open",
            "STREAM_OPEN, stream 1: POST /api/notes, one header",
            inner.encode_message(
                inner.StreamOpen(
                    1,
                    inner.StreamKind.HTTP,
                    "POST",
                    "/api/notes",
                    (("content-type", "application/json"),),
                )
            ),
        ),
        Example("data", 'DATA, stream 1: {"text":"hi"}', inner.encode_data(1, b'{"text":"hi"}')),
        Example("end", "END, stream 1", inner.encode_message(inner.End(1))),
        Example(
            "response_head",
            "RESPONSE_HEAD, stream 1: 201, no body (END_STREAM flag)",
            inner.encode_message(inner.ResponseHead(1, 201, (), end_stream=True)),
        ),
        Example(
            "window_update",
            "WINDOW_UPDATE, channel (stream 0): 3 MiB more",
            inner.encode_message(inner.WindowUpdate(0, 3 * 1024 * 1024)),
        ),
        Example(
            "close_inner",
            "CLOSE (inner), NORMAL, no message",
            inner.encode_message(inner.Close(inner.CloseCode.NORMAL, "")),
        ),
    ]


def all_examples() -> list[Example]:
    """Every example, outer first."""
    return outer_examples() + inner_examples()


def _payload_text(example: Example) -> str:
    """The JSON of a control frame, to read alongside its hex (empty for anything else)."""
    if example.data[:1] != bytes([PROTOCOL_VERSION]) or len(example.data) <= 12:
        return ""
    payload = example.data[frames.HEADER_SIZE :]
    return payload.decode() if payload.startswith(b"{") else ""


def render(examples: list[Example]) -> str:
    """A text block: label and hex, then what it is (and a control frame's JSON)."""
    width = max(len(e.label) for e in examples) + 2
    lines = []
    for example in examples:
        lines.append(f"{example.label.ljust(width)}{example.data.hex()}")
        lines.append(f"{'':{width}}{example.description}")
        if text := _payload_text(example):
            lines.append(f"{'':{width}}payload {text}")
    return "\n".join(lines)


if __name__ == "__main__":
    print("```text\n" + render(outer_examples()) + "\n```\n")
    print("```text\n" + render(inner_examples()) + "\n```")
