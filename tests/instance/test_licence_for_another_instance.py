"""A licence for another instance id is refused with a clear message unless confirmed, since
the phones paired with this instance know it by its id."""

from relayproto import licence


def test_a_licence_for_another_instance_needs_confirming(token_client, data_dir, operator_key):
    client = token_client("settings:read", "settings:write")
    first = licence.issue(operator_key, name="home", days=30, instance_id="home-1")
    assert client.put("/api/settings/relay", {"licence_token": first},
                      content_type="application/json").status_code == 200  # fmt: skip
    other = licence.issue(operator_key, name="cabin", days=30, instance_id="cabin-7")

    refused = client.put(
        "/api/settings/relay", {"licence_token": other}, content_type="application/json"
    )
    assert refused.status_code == 400
    message = refused.json()["licence_token"][0]
    assert "is for instance 'cabin-7'" in message and "'home-1'" in message
    assert client.get("/api/settings/relay").json()["instance_id"] == "home-1"

    confirmed = client.put(
        "/api/settings/relay",
        {"licence_token": other, "replace_instance": True},
        content_type="application/json",
    )
    assert confirmed.status_code == 200 and confirmed.json()["instance_id"] == "cabin-7"


def test_a_new_licence_for_the_same_instance_is_taken(token_client, data_dir, operator_key):
    client = token_client("settings:read", "settings:write")
    for days in (30, 365):
        token = licence.issue(operator_key, name="home", days=days, instance_id="home-1")
        response = client.put(
            "/api/settings/relay", {"licence_token": token}, content_type="application/json"
        )
        assert response.status_code == 200
