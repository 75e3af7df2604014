"""Audit API: list with filters and cursor pagination, chain check, CSV, JSON and JSON Lines
export."""

from __future__ import annotations

import csv
import json

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from audit import chain
from audit.models import AuditChainHead, AuditEvent
from audit.serializers import AuditEventSerializer, AuditFilterSerializer, ChainCheckSerializer
from instance.api.base import InstanceAPIView
from instance.api.schema import errors

EXPORT_FIELDS = ["seq", "time", "actor", "event", "outcome", "ip", "details", "prev_hash", "hash"]


class AuditCursorPagination(CursorPagination):
    """Newest first; stable under concurrent appends."""

    ordering = "-seq"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        """A cursor that does not decode is the client's mistake: 400, not DRF's 404."""
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise ValidationError(
                {"cursor": ["Invalid cursor: use the next/previous links as given."]}
            ) from None


def _filtered(request):
    filters = AuditFilterSerializer(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.filter(AuditEvent.objects.all())


class AuditListView(InstanceAPIView):
    """The audit trail, newest first."""

    required_scopes = {"GET": "audit:read"}
    pagination_class = AuditCursorPagination

    @extend_schema(
        parameters=[AuditFilterSerializer],
        responses={200: AuditEventSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        """Events matching the filters; follow ``next`` for older ones."""
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(_filtered(request), request, view=self)
        return paginator.get_paginated_response(AuditEventSerializer(page, many=True).data)

    # drf-spectacular reads the pagination class from here to describe the envelope.
    def get_queryset(self):
        """Unused: present so the schema shows the paginated envelope."""
        return AuditEvent.objects.none()


def _rows(queryset):
    for row in queryset.order_by("seq").iterator(chunk_size=1000):
        yield {
            "seq": row.seq,
            "time": row.created_at.isoformat(),
            "actor": row.actor,
            "event": row.event,
            "outcome": row.outcome,
            "ip": row.ip,
            "details": row.details,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
        }


class _Echo:
    def write(self, value):
        return value


class AuditExportCSVView(InstanceAPIView):
    """Every matching event as CSV (oldest first), streamed."""

    required_scopes = {"GET": "audit:read"}

    @extend_schema(
        parameters=[AuditFilterSerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **errors(400)},
    )
    def get(self, request):
        """CSV with a header row; details are JSON in one column."""
        queryset = _filtered(request)
        writer = csv.writer(_Echo())

        def lines():
            yield writer.writerow(EXPORT_FIELDS)
            for row in _rows(queryset):
                row["details"] = json.dumps(row["details"], sort_keys=True)
                yield writer.writerow([row[name] for name in EXPORT_FIELDS])

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.csv"'
        return response


class AuditExportJSONView(InstanceAPIView):
    """Every matching event as one JSON array (oldest first), streamed."""

    required_scopes = {"GET": "audit:read"}

    @extend_schema(
        parameters=[AuditFilterSerializer],
        responses={200: AuditEventSerializer(many=True), **errors(400)},
    )
    def get(self, request):
        """A JSON array of events, ready for `audit_verify`-style checks elsewhere."""
        queryset = _filtered(request)

        def chunks():
            yield "["
            for index, row in enumerate(_rows(queryset)):
                yield ("," if index else "") + json.dumps(row, sort_keys=True)
            yield "]"

        response = StreamingHttpResponse(chunks(), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="audit.json"'
        return response


class AuditExportJSONLinesView(InstanceAPIView):
    """Every matching event as JSON Lines (one object a line, oldest first), streamed."""

    required_scopes = {"GET": "audit:read"}

    @extend_schema(
        parameters=[AuditFilterSerializer],
        responses={(200, "application/jsonl"): OpenApiResponse(OpenApiTypes.STR), **errors(400)},
    )
    def get(self, request):
        """One event a line: easy to append to, grep and feed to other tools."""
        queryset = _filtered(request)

        def lines():
            for row in _rows(queryset):
                yield json.dumps(row, sort_keys=True) + "\n"

        response = StreamingHttpResponse(lines(), content_type="application/jsonl; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit.jsonl"'
        return response


class AuditChainCheckView(InstanceAPIView):
    """Verify the whole hash chain now (as `manage.py audit_verify` does)."""

    required_scopes = {"GET": "audit:read"}

    @extend_schema(responses={200: ChainCheckSerializer, **errors()})
    def get(self, request):
        """Intact through the newest event, or the first event where it breaks and why."""
        result = chain.verify()
        head = AuditChainHead.objects.values_list("seq", flat=True).first() or 0
        body = {
            "intact": result.ok,
            "checked": result.checked,
            "through": head,
            "broken_at": result.broken_at,
            "reason": result.reason,
        }
        return Response(ChainCheckSerializer(body).data)
