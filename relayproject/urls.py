"""Top-level URL configuration."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from relay import pages as relay_pages

urlpatterns = [
    path("", include("relay.urls")),
    path("api/", include("relay.api_urls")),
    path("api/", include("pairing.urls")),
    path("api/", include("audit.urls")),
    path("api/monitor/", include("relay.monitor_urls")),
    path("settings/relay", relay_pages.settings_relay, name="settings-relay"),
    path(
        "settings/relay/tokens/<int:pk>/revoke",
        relay_pages.revoke_token,
        name="settings-relay-revoke-token",
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
