"""Signals the instance sends so that apps above it (audit, pairing) can act without being imported.

The instance app is the base of the home side: pairing and audit import it, never the other
way round. Where the instance has something to tell them, it sends one of these; the audit app
connects its receivers in ``AuditConfig.ready``. Each is sent with ``send`` (not
``send_robust``) so that a failing audit write fails the change it records, inside the same
transaction, as a direct call would.
"""

from django.dispatch import Signal

# An event for the owner's audit trail. Keyword arguments: ``event`` (a name from
# instance.auditing), ``outcome``, ``actor``, ``ip`` and ``details`` (a dict without secrets).
audit_event = Signal()

# A failed authentication (bad API token, unknown device, failed handshake). Keyword arguments:
# ``reason``, ``ip`` and ``actor``. Receivers throttle: a scanner must not flood the trail.
auth_failed = Signal()

# A paired device's channel opened or closed. Keyword arguments: ``fingerprint`` and, for
# closes, ``reason``. Receivers aggregate per device, so a busy phone writes few rows.
channel_opened = Signal()
channel_closed = Signal()
