"""URLs of the owner's pages: the start page, Settings → Relay, the admin and the login."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from instance import pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("admin/", admin.site.urls),
    path("settings/relay", pages.settings_relay, name="settings-relay"),
    path("settings/relay/events", pages.events, name="settings-relay-events"),
    path(
        "settings/relay/tokens/<int:pk>/revoke",
        pages.revoke_token,
        name="settings-relay-revoke-token",
    ),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
