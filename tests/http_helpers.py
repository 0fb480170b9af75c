"""Builders for HTTP request, JSON and XML steps and the HTTP connections they use."""

from tests.flow_helpers import connection
from vault_app.models import Connection

BEARER_TOKEN = "bearer-token-Wm52pRx"
API_KEY = "api-key-value-Lc19vNe"
BASIC_PASSWORD = "basic-password-Yt73kQs"


def http_step(step_id: str = "call", **params) -> dict:
    return {"id": step_id, "type": "HTTP", "action": "SEND_REQUEST", "params": params}


def data_step(step_id: str, type_: str, action: str, **params) -> dict:
    return {"id": step_id, "type": type_, "action": action, "params": params}


def http_connection(api, setup: str, name: str = "Partner API", **fields) -> Connection:
    """An HTTP connection to the stand-in ``api`` with ``setup`` and its fields."""
    defaults = {
        "BEARER": {"token": BEARER_TOKEN},
        "BASIC_AUTH": {"username": "sluice", "password": BASIC_PASSWORD},
        "API_KEY": {"key_name": "X-Api-Key", "key_value": API_KEY, "key_in": "HEADER"},
        "OAUTH_CLIENT_CREDENTIALS": {
            "client_id": api.client_id,
            "client_secret": api.client_secret,
            "token_endpoint": api.token_endpoint,
        },
    }[setup]
    return connection("http", name, {"setup": setup, "hosts": api.hosts, **defaults, **fields})
