"""Signals the relay sends about its own events, for other apps of the process to subscribe to.

The relay stores nothing: each event is also a structured log record and a ``/metrics``
counter (relay.events). Receivers run on the worker's event loop, in the middle of a socket's
work, so they must be quick and must not touch a database there; ``send_robust`` keeps a
failing receiver from hurting the socket. Every signal has ``event`` (its stable name) and
``ip`` (the client address, or None) among its keyword arguments.
"""

from django.dispatch import Signal

# An instance passed admission: ``instance_id``, ``name`` (the licence's), ``resumed``.
instance_registered = Signal()
# An instance was refused (licence invalid, expired, revoked, rate limited…): ``code``,
# ``reason``.
registration_refused = Signal()
# A registered instance's socket closed: ``instance_id``, ``code``.
instance_disconnected = Signal()
# A limit turned a socket or a channel away: ``limit`` (what was exceeded), ``code``,
# ``reason``.
limit_hit = Signal()
# The worker began draining on shutdown: ``worker`` (its id), ``sockets`` (how many).
worker_draining = Signal()
