"""URLs of the audit API (under /api/)."""

from django.urls import path

from audit import views

urlpatterns = [
    path("audit", views.AuditListView.as_view(), name="api-audit"),
    path("audit/export.csv", views.AuditExportCSVView.as_view(), name="api-audit-export-csv"),
    path("audit/export.json", views.AuditExportJSONView.as_view(), name="api-audit-export-json"),
    path(
        "audit/export.jsonl",
        views.AuditExportJSONLinesView.as_view(),
        name="api-audit-export-jsonl",
    ),
    path("audit/verify", views.AuditChainCheckView.as_view(), name="api-audit-verify"),
]
