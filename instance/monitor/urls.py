"""URLs of the monitoring API (included under /api/monitor/)."""

from django.urls import path

from instance.monitor import views as monitor_views

urlpatterns = [
    path("sample", monitor_views.sample_view, name="monitor-sample"),
    path("stream", monitor_views.stream_view, name="monitor-stream"),
]
