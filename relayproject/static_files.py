"""WhiteNoise as middleware that is async as well as sync.

WhiteNoise's own middleware is sync-only, and one sync middleware makes Django run every async
view in a worker thread: a slow async view then can no longer be cancelled by the tunnel's
deadline, and server-sent events take a thread hop per event. This subclass answers static
files the same way in both modes and otherwise passes the request on in the caller's mode.
"""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    """Serves the apps' static files (WhiteNoise, from the finders), sync or async."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response=None, **kwargs) -> None:
        super().__init__(get_response, **kwargs)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def _static_file(self, request):
        if self.autorefresh:
            return self.find_file(request.path_info)
        return self.files.get(request.path_info)

    def __call__(self, request):
        """A static file when one matches the path, else the rest of the stack."""
        if self.is_async:
            return self.__acall__(request)
        static_file = self._static_file(request)
        if static_file is not None:
            return self.serve(static_file, request)
        return self.get_response(request)

    async def __acall__(self, request):
        """Async form of :meth:`__call__`; file lookups are in memory, so nothing blocks."""
        static_file = self._static_file(request)
        if static_file is not None:
            return self.serve(static_file, request)
        return await self.get_response(request)
