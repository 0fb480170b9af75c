"""What the deploy CLI's two layouts hold, by name."""

from dataclasses import dataclass

from vault_app.kinds import KINDS as CONNECTION_KINDS

DIRECTORY = "directory"
YAML = "yaml"
LAYOUTS = (DIRECTORY, YAML)
FLOWS = "flows"
CONNECTIONS = "flow-vault-connections"
TENANT = "tenant.yaml"
SETUP = "@@SETUP_CONFIG@@"  # the deploy CLI's keyword for a connection's secrets
# Sluice's connection kinds as Auth0 names its vault connection apps (``app_id``).
APP_IDS = {key: kind.app_id for key, kind in CONNECTION_KINDS.items() if kind.app_id}
KINDS = {app_id: kind for kind, app_id in APP_IDS.items()}


@dataclass(frozen=True)
class Declared:
    """A vault connection a repository declares: where, its name and Auth0's app_id."""

    source: str
    name: str
    app_id: str


def js_order(name: str) -> bytes:
    """A sort key that orders strings as JavaScript's ``<`` does (by UTF-16 code unit)."""
    return name.encode("utf-16-be", "surrogatepass")
