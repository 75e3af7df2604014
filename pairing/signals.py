"""Signals other code listens to (the connector closes a revoked device's channels)."""

from django.dispatch import Signal

# Sent after the revoking transaction commits, with sender=Device and the keyword arguments
# ``device`` (the Device row), ``public_key`` (raw 32 bytes) and ``fingerprint`` (str).
device_revoked = Signal()
