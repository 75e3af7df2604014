"""The project's URLs plus the tunnel tests' own views (use with @pytest.mark.urls)."""

from django.urls import path

from relayproject.urls import urlpatterns as project_urlpatterns
from tests.instance import tunnel_views

urlpatterns = [
    path("tunnel-test/headers", tunnel_views.echo_headers),
    path("tunnel-test/sha256", tunnel_views.body_sha256),
    path("tunnel-test/download", tunnel_views.download),
    path("tunnel-test/events", tunnel_views.gated_events),
    path("tunnel-test/slow", tunnel_views.slow),
    *project_urlpatterns,
]
