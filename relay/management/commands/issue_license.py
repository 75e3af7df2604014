"""Issue a licence token that admits an instance to this relay."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from relay import operator
from relayproto import licence


class Command(BaseCommand):
    """Sign a licence with the operator key and print the token on the last line."""

    help = (
        "Print a licence token for an instance, signed with the operator key from "
        "PULSE_DATA_DIR (or --key-file). The token is the last line of output."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="instance name shown to the operator")
        parser.add_argument("--days", type=float, required=True, help="validity in days")
        parser.add_argument("--instance-id", help="reuse an instance id (default: a new one)")
        parser.add_argument(
            "--features", default=licence.RELAY_FEATURE, help="comma list (default: relay)"
        )
        parser.add_argument("--key-file", type=Path, help="operator private key (PEM)")
        parser.add_argument(
            "--max-channels",
            type=int,
            help="open channels this instance may have at once (the relay's own cap still applies)",
        )
        parser.add_argument(
            "--bytes-per-second",
            type=int,
            help="bandwidth of this instance through the relay, each way (default: the relay's)",
        )

    def handle(self, *args, **options):
        try:
            key = operator.load_private_key(options["key_file"])
            token = licence.issue(
                key,
                name=options["name"],
                days=options["days"],
                instance_id=options["instance_id"],
                features=[f.strip() for f in options["features"].split(",") if f.strip()],
                limits={
                    name: options[option]
                    for name, option in (
                        ("channels", "max_channels"),
                        ("bytes_per_second", "bytes_per_second"),
                    )
                    if options[option] is not None
                },
            )
        except (ImproperlyConfigured, licence.LicenceError) as exc:
            raise CommandError(str(exc)) from None
        parsed = licence.parse_unverified(token)
        self.stdout.write(
            f"Licence {parsed.token_id} for {parsed.name!r}, instance id {parsed.instance_id}, "
            f"features {','.join(parsed.features)}, limits {parsed.limits() or 'none'}, "
            f"expires at {parsed.expires_at} (unix time):"
        )
        self.stdout.write(token)
