"""Shared helpers for the stream tests: a phone/instance multiplexer pair joined in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from relayproto.inner import StreamKind
from relayproto.stream_events import Event
from relayproto.streams import Multiplexer, Role


@dataclass
class Pair:
    """A phone (client) and an instance (server) multiplexer with explicit message delivery."""

    phone: Multiplexer = field(default_factory=lambda: Multiplexer(Role.CLIENT))
    instance: Multiplexer = field(default_factory=lambda: Multiplexer(Role.SERVER))

    def to_instance(self, messages: list[bytes]) -> list[Event]:
        """Deliver messages to the instance; return its events (its own replies stay queued)."""
        events: list[Event] = []
        for message in messages:
            events += self.instance.receive(message)
        return events

    def to_phone(self, messages: list[bytes]) -> list[Event]:
        """Deliver messages to the phone; return its events."""
        events: list[Event] = []
        for message in messages:
            events += self.phone.receive(message)
        return events

    def flush(self) -> tuple[list[Event], list[Event]]:
        """Deliver both sides' queued replies until none are left; return (phone, instance)."""
        phone_events: list[Event] = []
        instance_events: list[Event] = []
        while True:
            to_phone = self.instance.data_to_send()
            to_instance = self.phone.data_to_send()
            if not to_phone and not to_instance:
                return phone_events, instance_events
            phone_events += self.to_phone(to_phone)
            instance_events += self.to_instance(to_instance)

    def start(self) -> None:
        """Exchange the initial channel window updates."""
        self.to_instance(self.phone.start())
        self.to_phone(self.instance.start())

    def open(self, kind: StreamKind = StreamKind.HTTP, *, end_stream: bool = False) -> int:
        """Open a stream from the phone and deliver it (and any window grant) to the instance."""
        stream_id, messages = self.phone.open_stream(
            kind,
            "GET" if end_stream else "POST",
            "/api/items?x=1",
            [("accept", "*/*")],
            end_stream=end_stream,
        )
        self.to_instance(messages)
        self.flush()
        return stream_id


def make_pair(**settings: int) -> Pair:
    """A pair whose two multiplexers share the given window / stream-limit settings."""
    return Pair(Multiplexer(Role.CLIENT, **settings), Multiplexer(Role.SERVER, **settings))
