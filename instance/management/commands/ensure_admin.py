"""Create the owner's admin login on first run."""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    """Create an admin login when none exists; print a generated password once."""

    help = (
        "Create the admin login if there is no superuser yet. The password comes from "
        "PULSE_ADMIN_PASSWORD, or is generated and printed once. Does nothing otherwise."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default=os.environ.get("PULSE_ADMIN_USER", "admin"))

    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("An admin login exists already; nothing to do.")
            return
        password = os.environ.get("PULSE_ADMIN_PASSWORD", "").strip()
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        else:
            try:
                validate_password(password, User(username=options["username"]))
            except ValidationError as exc:
                raise CommandError(
                    "PULSE_ADMIN_PASSWORD is too weak: "
                    + " ".join(exc.messages)
                    + " Choose a longer one, or unset it to get a generated password."
                ) from None
        User.objects.create_superuser(username=options["username"], email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created admin login '{options['username']}' with password: {password}\n"
                    "It is shown only this once; change it after logging in."
                )
            )
        else:
            self.stdout.write(
                f"Created admin login '{options['username']}' (PULSE_ADMIN_PASSWORD)."
            )
