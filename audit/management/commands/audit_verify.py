"""Verify the audit trail's hash chain."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from audit import chain


class Command(BaseCommand):
    """Walk the chain; exit 1 and say where it breaks if it does."""

    help = (
        "Check the audit trail's hash chain from the oldest kept event to the newest. Prints "
        "how many events verified, or the first event where the chain breaks (exit status 1)."
    )

    def handle(self, *args, **options):
        """Verify and report."""
        result = chain.verify()
        if result.ok:
            self.stdout.write(f"OK: {result.checked} audit events verified; the chain is intact.")
            return
        raise CommandError(
            f"BROKEN at event #{result.broken_at}: {result.reason} "
            f"({result.checked} events before it verified)."
        )
