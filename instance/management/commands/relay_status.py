"""Print the relay connector's status and the relay settings summary."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from instance import relay_settings, relayenc
from instance import status as connector_status


def _when(value: float | None) -> str:
    if not value:
        return "-"
    return datetime.fromtimestamp(value, UTC).isoformat(timespec="seconds")


class Command(BaseCommand):
    """The same information as GET /api/settings/relay/status, for a terminal."""

    help = (
        "Show the relay connector's status (as GET /api/settings/relay/status does): state, "
        "registration, open channels, last error. --json prints the API's JSON."
    )

    def add_arguments(self, parser):
        """--json."""
        parser.add_argument("--json", action="store_true", help="print JSON instead of text")

    def handle(self, *args, **options):
        """Print the status."""
        status = connector_status.read()
        if options["json"]:
            self.stdout.write(json.dumps(status.as_dict(), indent=2, sort_keys=True))
            return
        try:
            current = relay_settings.current()
        except relayenc.RelayEncError as exc:
            raise CommandError(str(exc)) from None
        running = "running" if status.running else "not running"
        lines = [
            f"relay enabled:   {'yes' if current.enabled else 'no'}"
            + (
                " (PULSE_RELAY_ENABLED)"
                if any(o["field"] == "enabled" for o in current.overrides)
                else ""
            ),
            f"relay URL:       {current.server_url or '-'}",
            f"instance id:     {current.instance_id or '-'}",
            f"connector:       {running}, state {status.state}"
            + (f" (pid {status.pid})" if status.pid else ""),
            f"registered:      {'yes' if status.registered else 'no'}",
            f"open channels:   {status.open_channels}",
            f"last error:      {status.last_error or '-'}",
            f"next retry:      {_when(status.next_retry_at)}",
            f"updated:         {_when(status.updated_at)}",
        ]
        self.stdout.write("\n".join(lines))
