"""Replace the instance's identity key; every paired device must pair again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from instance import relayenc
from pairing import identity


class Command(BaseCommand):
    """Generate a new X25519 identity key in relay.enc and revoke all devices (audited)."""

    help = (
        "Replace the instance's identity key in relay.enc. Phones pinned the old key, so every "
        "device is revoked and must pair again; open pairing sessions end. Audited."
    )

    def add_arguments(self, parser):
        """--yes skips the confirmation."""
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, **options):
        """Rotate after confirmation."""
        if not options["yes"]:
            answer = input("Every paired device will have to pair again. Continue? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Cancelled; nothing changed.")
        try:
            fingerprint = identity.rotate_identity(actor="cli:relay_rotate_identity")
        except relayenc.RelayEncError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"New identity key fingerprint: {fingerprint}")
        self.stdout.write("All devices were revoked: pair them again from Settings → Relay.")
