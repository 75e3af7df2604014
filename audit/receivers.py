"""Signal receivers that feed the audit trail: the instance's events and failed logins.

The instance app cannot import this app (it depends on the instance for its API plumbing), so
it announces what happened through ``instance.signals`` and these receivers write the rows.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from audit import events
from instance import signals
from instance.api.authentication import client_ip


@receiver(signals.audit_event, dispatch_uid="audit-instance-event")
def instance_event(sender, event, outcome, actor, ip, details, **kwargs) -> None:
    """An event the instance reported (settings, tokens, relay connection)."""
    events.record(event, outcome=outcome, actor=actor, ip=ip, details=details)


@receiver(signals.auth_failed, dispatch_uid="audit-instance-auth-failed")
def instance_auth_failed(sender, reason, ip, actor, **kwargs) -> None:
    """A failed API token, device or handshake (throttled per address and reason)."""
    events.auth_failed(reason, ip=ip, actor=actor)


@receiver(signals.channel_opened, dispatch_uid="audit-channel-opened")
def channel_opened(sender, fingerprint, **kwargs) -> None:
    """A device's channel opened (aggregated per device per window)."""
    events.channel_activity.opened(fingerprint)


@receiver(signals.channel_closed, dispatch_uid="audit-channel-closed")
def channel_closed(sender, fingerprint, reason="", **kwargs) -> None:
    """A device's channel closed (aggregated per device per window)."""
    events.channel_activity.closed(fingerprint, reason)


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    """A wrong password on the login page (username kept, password never)."""
    username = str((credentials or {}).get("username", ""))[:150]
    ip = client_ip(request) if request is not None else None
    events.auth_failed("login failed", ip=ip, actor=f"user:{username}" if username else "")
