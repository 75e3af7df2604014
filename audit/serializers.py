"""Serializers of the audit API."""

from __future__ import annotations

from rest_framework import serializers

from audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    """One audit event with its place in the hash chain."""

    time = serializers.DateTimeField(source="created_at")
    details = serializers.DictField()

    class Meta:
        model = AuditEvent
        fields = ["seq", "time", "actor", "event", "outcome", "ip", "details", "prev_hash", "hash"]
        read_only_fields = fields


class AuditFilterSerializer(serializers.Serializer):
    """Query filters for listing and exporting events."""

    event = serializers.CharField(required=False, max_length=100, help_text="exact event name")
    actor = serializers.CharField(
        required=False, max_length=200, help_text="actor contains this (e.g. 'device:' or 'user:')"
    )
    outcome = serializers.ChoiceField(required=False, choices=["success", "failure", "denied"])
    since = serializers.DateTimeField(required=False, help_text="events at or after (ISO 8601)")
    until = serializers.DateTimeField(required=False, help_text="events before (ISO 8601)")

    def filter(self, queryset):
        """Apply the validated filters to a queryset."""
        data = self.validated_data
        if "event" in data:
            queryset = queryset.filter(event=data["event"])
        if "actor" in data:
            queryset = queryset.filter(actor__icontains=data["actor"])
        if "outcome" in data:
            queryset = queryset.filter(outcome=data["outcome"])
        if "since" in data:
            queryset = queryset.filter(created_at__gte=data["since"])
        if "until" in data:
            queryset = queryset.filter(created_at__lt=data["until"])
        return queryset


class ChainCheckSerializer(serializers.Serializer):
    """Whether the hash chain is intact, and where it breaks if not."""

    intact = serializers.BooleanField()
    checked = serializers.IntegerField(help_text="events verified")
    through = serializers.IntegerField(help_text="seq of the newest event (intact through it)")
    broken_at = serializers.IntegerField(allow_null=True, help_text="seq where it breaks")
    reason = serializers.CharField(allow_blank=True)
