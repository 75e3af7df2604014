"""The base class of every instance API view, in this app and in pairing and audit."""

from __future__ import annotations

from rest_framework.views import APIView

from instance.api.permissions import HasScope


class InstanceAPIView(APIView):
    """Base of every instance API view: scopes decide, owner sessions hold them all."""

    permission_classes = [HasScope]
