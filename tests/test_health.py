"""/healthz and /metrics."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_ok_when_database_and_channel_layer_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": True, "channel_layer": True}


def test_healthz_is_503_when_the_channel_layer_is_unreachable(client, settings):
    # Nothing listens on port 1: a real refused connection, not a stand-in.
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]}}
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": True, "channel_layer": False}


def test_metrics_expose_the_ledger_counters(client, make_user, make_sheet):
    from tests.conftest import edit

    user = make_user()
    edit(make_sheet(editors=[user]), user, (0, 0, "x"))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert b"ledgersheet_events_appended_total" in response.content
