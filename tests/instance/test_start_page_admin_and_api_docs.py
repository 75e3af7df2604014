"""/ leads to Settings → Relay, /admin/ shows the models (the audit trail read-only), and
/api/docs/ works offline: every asset from this origin, no inline script."""

import re

from audit.models import AuditEvent
from instance import auditing


def test_the_start_page_sends_the_owner_to_settings(owner_client):
    response = owner_client.get("/")
    assert response.status_code == 302 and response["Location"] == "/settings/relay"


def test_the_start_page_sends_others_to_the_login(stranger_client):
    response = stranger_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/settings/relay"


def test_the_admin_lists_relay_pairing_and_audit_models(owner_client):
    page = owner_client.get("/admin/").content.decode()
    for model in ("Api tokens", "Devices", "Pairing sessions", "Audit events"):
        assert model in page


def test_the_audit_trail_is_read_only_in_the_admin(owner_client, data_dir):
    auditing.record(auditing.SETTINGS_CHANGED, actor="test")
    event = AuditEvent.objects.get(event="settings.changed")
    assert owner_client.get("/admin/audit/auditevent/").status_code == 200
    assert owner_client.get("/admin/audit/auditevent/add/").status_code == 403
    url = f"/admin/audit/auditevent/{event.pk}/change/"
    assert owner_client.post(url, {"event": "forged"}).status_code == 403
    assert owner_client.post(f"/admin/audit/auditevent/{event.pk}/delete/").status_code == 403
    event.refresh_from_db()
    assert event.event == "settings.changed"


def test_strangers_do_not_get_the_admin(stranger_client):
    assert stranger_client.get("/admin/").status_code == 302


def test_api_docs_load_only_from_this_origin(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "<script>" not in page  # the start-up script is a file of its own
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    for source in sources:
        assert client.get(source).status_code == 200, source
