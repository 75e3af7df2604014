"""Top-level URLs: each role's routes, mounted only when this process plays it (PULSE_ROLES).

A relay-only worker answers /healthz, /readyz and /metrics and nothing of the instance; a home
instance mounts its API and pages and none of the relay's endpoints but /healthz.
"""

from django.conf import settings
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from relayproject import health

urlpatterns = [path("healthz", health.healthz, name="healthz")]

if "relay" in settings.PULSE_ROLES:
    urlpatterns += [path("", include("relay.urls"))]

if "instance" in settings.PULSE_ROLES:
    urlpatterns += [
        path("api/", include("instance.urls")),
        path("api/", include("pairing.urls")),
        path("api/", include("audit.urls")),
        path("api/monitor/", include("instance.monitor.urls")),
        path("", include("instance.page_urls")),
        # Pages without an icon link (the admin's) make browsers ask for /favicon.ico.
        path("favicon.ico", RedirectView.as_view(url=static("instance/favicon.svg"))),
    ]
