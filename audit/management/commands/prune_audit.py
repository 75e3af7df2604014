"""Delete old audit events while keeping the chain verifiable."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit import chain

_AGE = re.compile(r"^(\d+)([dhw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``90d``, ``12w`` or ``36h`` as a timedelta."""
    match = _AGE.match(text.strip())
    if not match or int(match.group(1)) <= 0:
        raise CommandError(
            f"--older-than {text!r}: write a positive number with d, w or h, e.g. 90d"
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


class Command(BaseCommand):
    """Remove events older than an age; an audit.pruned event anchors what remains."""

    help = (
        "Delete audit events older than --older-than (e.g. 90d; default "
        "PULSE_AUDIT_RETENTION_DAYS). The chain stays verifiable: the last removed event's hash "
        "becomes the anchor, recorded in an audit.pruned event."
    )

    def add_arguments(self, parser):
        """--older-than."""
        parser.add_argument("--older-than", default=None, help="age such as 90d, 12w or 36h")

    def handle(self, *args, **options):
        """Prune and report."""
        age = (
            parse_age(options["older_than"])
            if options["older_than"]
            else timedelta(days=settings.PULSE_AUDIT_RETENTION_DAYS)
        )
        removed = chain.prune(timezone.now() - age, actor="cli:prune_audit")
        self.stdout.write(f"Removed {removed} audit events older than {age}.")
        result = chain.verify()
        if not result.ok:
            raise CommandError(f"the chain does not verify after pruning: {result.reason}")
