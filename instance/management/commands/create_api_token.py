"""Create an API token for the instance API and print it (on the last line, once)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from instance import tokens


class Command(BaseCommand):
    """Create a bearer token with the given scopes."""

    help = (
        "Create an API token for the instance API. The token is printed once, on the last "
        f"line; only its hash is stored. Scopes: {', '.join(tokens.SCOPES)}."
    )

    def add_arguments(self, parser):
        """--name and --scopes."""
        parser.add_argument("--name", required=True, help="what the token is for")
        parser.add_argument(
            "--scopes",
            required=True,
            help="comma-separated, e.g. settings:read,settings:write",
        )

    def handle(self, *args, **options):
        """Create the token and print it last."""
        try:
            token, plaintext = tokens.create_token(
                options["name"], options["scopes"].split(","), actor="cli:create_api_token"
            )
        except tokens.TokenError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Created API token #{token.pk} '{token.name}' with scopes "
            f"{', '.join(token.scopes)}. It is shown only this once:"
        )
        self.stdout.write(plaintext)
