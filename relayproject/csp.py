"""The Content-Security-Policy every answer carries, unless a view set its own.

Scripts only from this origin and never inline, no plugins, no framing, forms post only here:
users run Relay offline and behind strict proxies, so nothing may come from another origin.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.deprecation import MiddlewareMixin

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# For views that mark their response ``csp_inline_styles = True`` (Swagger UI styles parts of
# its page inline); scripts still come from this origin only.
INLINE_STYLES_POLICY = DEFAULT_POLICY.replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)

HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware(MiddlewareMixin):
    """Adds :data:`DEFAULT_POLICY` to responses that have no policy of their own (sync and
    async alike, so async views keep running on the event loop)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """Add the header unless the view chose a policy."""
        if HEADER not in response:
            inline_styles = getattr(response, "csp_inline_styles", False)
            response[HEADER] = INLINE_STYLES_POLICY if inline_styles else DEFAULT_POLICY
        return response
