"""Run the instance's relay connector on its own (production, beside the web server)."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    """Keep this instance connected to its relay until SIGTERM or Ctrl-C."""

    help = (
        "Keep the instance's outbound connection to its relay while relay is enabled, answer "
        "phones' channels end to end, and tunnel their requests to the local service. Reads "
        "the settings (relay.enc and PULSE_RELAY_*) every second; stops cleanly on SIGTERM or "
        "Ctrl-C. `manage.py serve` runs the same connector inside the web server instead."
    )

    def handle(self, *args, **options):
        asyncio.run(self._run())
        self.stdout.write("Relay connector stopped.")

    async def _run(self) -> None:
        from instance.connector import Connector

        loop = asyncio.get_running_loop()
        task = loop.create_task(Connector().run())
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
