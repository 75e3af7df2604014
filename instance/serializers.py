"""Serializers of the instance API's relay settings, status and tokens."""

from __future__ import annotations

from rest_framework import serializers

from instance.models import ApiToken
from instance.tokens import SCOPES


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean only: "yes", 1 or "true" are refused rather than guessed."""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data):
        """Accept only real booleans."""
        if isinstance(data, bool):
            return data
        self.fail("invalid")


class RejectUnknownFieldsMixin:
    """Answers 400 naming each field the serializer does not know."""

    def validate(self, attrs):
        """Refuse unknown keys instead of silently ignoring them."""
        if not isinstance(self.initial_data, dict):
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object."]})
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {name: ["Unknown field: this endpoint does not accept it."] for name in unknown}
            )
        return super().validate(attrs)


class LicenceSummarySerializer(serializers.Serializer):
    """What the licence's claims say (the signature is the relay's to check)."""

    name = serializers.CharField()
    instance_id = serializers.CharField()
    token_id = serializers.CharField()
    features = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
    valid = serializers.BooleanField()
    problem = serializers.CharField(allow_blank=True)


class OverrideSerializer(serializers.Serializer):
    """A setting whose effective value comes from the environment."""

    field = serializers.CharField()
    variable = serializers.CharField()


class StoredSettingsSerializer(serializers.Serializer):
    """What relay.enc stores, before environment overrides."""

    enabled = serializers.BooleanField()
    server_url = serializers.CharField(allow_blank=True)
    pairing_requires_approval = serializers.BooleanField(allow_null=True)


class RelaySettingsSerializer(serializers.Serializer):
    """The effective relay settings."""

    enabled = serializers.BooleanField()
    server_url = serializers.CharField(allow_blank=True)
    pairing_requires_approval = serializers.BooleanField()
    instance_id = serializers.CharField(allow_blank=True)
    identity_public_key = serializers.CharField(
        allow_blank=True, help_text="raw X25519 public key, unpadded base64url"
    )
    identity_fingerprint = serializers.CharField(allow_blank=True)
    identity_created_at = serializers.CharField(allow_blank=True)
    licence = LicenceSummarySerializer(allow_null=True)
    overrides = OverrideSerializer(many=True)
    stored = StoredSettingsSerializer()


class RelaySettingsUpdateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """Changes to the relay settings; every field is optional."""

    enabled = StrictBooleanField(required=False)
    server_url = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="ws:// or wss:// URL"
    )
    licence_token = serializers.CharField(
        required=False, allow_blank=True, max_length=4096, help_text="pulse-lic1.… token"
    )
    pairing_requires_approval = StrictBooleanField(required=False)
    replace_instance = StrictBooleanField(
        required=False,
        help_text="accept a licence for another instance id (paired phones must pair again)",
    )


class ConnectorStatusSerializer(serializers.Serializer):
    """The connector's last published status."""

    running = serializers.BooleanField()
    state = serializers.ChoiceField(
        choices=["disabled", "connecting", "connected", "backoff", "error"]
    )
    instance_id = serializers.CharField(allow_blank=True)
    registered = serializers.BooleanField()
    open_channels = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    next_retry_at = serializers.FloatField(allow_null=True)
    updated_at = serializers.FloatField()
    online_devices = serializers.ListField(child=serializers.CharField())
    pid = serializers.IntegerField()


class ApiTokenSerializer(serializers.ModelSerializer):
    """A token as listed (never its secret)."""

    active = serializers.BooleanField(read_only=True)
    scopes = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "created_by",
            "last_used_at",
            "revoked_at",
            "active",
        ]
        read_only_fields = fields


class ApiTokenCreateSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """A new token's name and scopes."""

    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=list(SCOPES)), min_length=1, max_length=len(SCOPES)
    )


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    """A token just created, with its secret (shown this once)."""

    token = serializers.CharField(read_only=True)

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields
