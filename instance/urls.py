"""URLs of the instance API's relay settings, status, tokens and OpenAPI schema (under /api/)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from instance import views
from instance.api.docs import SwaggerUIView

urlpatterns = [
    path("settings/relay", views.RelaySettingsView.as_view(), name="api-relay-settings"),
    path("settings/relay/status", views.RelayStatusView.as_view(), name="api-relay-status"),
    path("tokens", views.ApiTokenListView.as_view(), name="api-tokens"),
    path("tokens/<int:pk>", views.ApiTokenDetailView.as_view(), name="api-token"),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="api-schema",
    ),
    path(
        "docs/",
        SwaggerUIView.as_view(
            url_name="api-schema", authentication_classes=[], permission_classes=[]
        ),
        name="api-docs",
    ),
]
