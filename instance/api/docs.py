"""The API docs page: Swagger UI from our own static files, its scripts never inline."""

from __future__ import annotations

from drf_spectacular.views import SpectacularSwaggerSplitView


class SwaggerUIView(SpectacularSwaggerSplitView):
    """Swagger UI (drf-spectacular-sidecar), with its start-up script as a same-origin file.

    The split view serves the initialising script from this same URL (``?script``), so the
    page needs no inline script; Swagger UI does style parts of itself inline, which the
    response allows through ``csp_inline_styles`` (relayproject.csp).
    """

    def finalize_response(self, request, response, *args, **kwargs):
        """Mark the response for the policy that lets Swagger UI's inline styles through."""
        response = super().finalize_response(request, response, *args, **kwargs)
        response.csp_inline_styles = True
        return response
