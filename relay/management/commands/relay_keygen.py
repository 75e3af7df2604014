"""Create the relay operator's licence-signing key pair."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from relay import operator


class Command(BaseCommand):
    """Write the operator key pair into PULSE_DATA_DIR and print the public key."""

    help = (
        "Create the relay operator's Ed25519 key pair in PULSE_DATA_DIR (relay_operator.key, "
        "0600, and relay_operator.pub). Relay workers sharing the directory trust it; give the "
        "printed public key to workers elsewhere in PULSE_RELAY_OPERATOR_PUBLIC_KEYS."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force", action="store_true", help="replace an existing key pair (rotation)"
        )

    def handle(self, *args, **options):
        try:
            key = operator.generate(force=options["force"])
        except FileExistsError as exc:
            raise CommandError(str(exc)) from None
        private_path, public_path = operator.key_paths()
        self.stdout.write(f"Wrote {private_path} (private, 0600) and {public_path}.")
        self.stdout.write(operator.encode_public_key(key.public_key()))
