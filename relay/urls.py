"""HTTP URLs of the relay role (liveness, /healthz, is the composition root's, for every role)."""

from django.urls import path

from relay import views

urlpatterns = [
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
