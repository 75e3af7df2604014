"""Serve Relay with daphne, running the instance's connector in the same process."""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings
from django.core.management.base import BaseCommand

log = logging.getLogger("instance.connector")


def _report_end(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the relay connector stopped", exc_info=task.exception())


class Command(BaseCommand):
    """Start daphne on HOST:PORT; with the instance role, also keep the relay connection."""

    help = (
        "Serve the ASGI application with daphne. When this process plays the instance role, "
        "the relay connector runs in the same process; when it plays both roles (the make run "
        "default), the embedded relay first issues a licence for its own instance, so pairing "
        "works without any set-up."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, **options):
        # Importing daphne.server installs Twisted's asyncio reactor: it must come first.
        from daphne.endpoints import build_endpoint_description_strings
        from daphne.server import Server
        from twisted.internet import reactor

        from relayproject import embedded
        from relayproject.asgi import application

        host, port = options["host"], options["port"]
        if embedded.provision(host, port):
            self.stdout.write("Embedded relay: this instance has a licence and is enabled.")
        # Holds the task: the event loop keeps only a weak reference to it.
        connector_task: list[asyncio.Task] = []

        def start_connector() -> None:
            from instance.connector import Connector

            task = asyncio.get_running_loop().create_task(Connector().run())
            task.add_done_callback(_report_end)
            connector_task.append(task)

        def ready() -> None:
            if "instance" in settings.PULSE_ROLES:
                reactor.callLater(0.2, start_connector)

        Server(
            application=application,
            endpoints=build_endpoint_description_strings(host=host, port=port),
            ready_callable=ready,
            signal_handlers=True,
            # A whole frame (header + payload) must fit one WebSocket message.
            websocket_max_message_size=max(1 << 20, settings.PULSE_MAX_FRAME_BYTES + 12),
        ).run()
