"""The app serves its static files itself (no collectstatic, no CDN), sync and async."""

from django.test import AsyncClient

from relayproject.static_files import StaticFilesMiddleware

SWAGGER = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"


def test_a_static_file_is_served_with_its_type(client):
    response = client.get(SWAGGER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")


async def test_the_async_stack_serves_it_too_and_stays_async():
    response = await AsyncClient().get(SWAGGER)
    assert response.status_code == 200

    async def inner(request):
        return "passed on"

    middleware = StaticFilesMiddleware(inner)
    assert middleware.is_async


def test_an_unknown_static_path_is_404(client):
    assert client.get("/static/nothing-here.js").status_code == 404
