"""Signal receivers that feed the audit trail (failed logins)."""

from __future__ import annotations

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from audit import events


@receiver(user_login_failed, dispatch_uid="audit-login-failed")
def login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    """A wrong password on the login page (username kept, password never)."""
    username = str((credentials or {}).get("username", ""))[:150]
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    events.auth_failed("login failed", ip=ip, actor=f"user:{username}" if username else "")
