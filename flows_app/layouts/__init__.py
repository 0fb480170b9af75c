"""Flows in git as Auth0's deploy CLI keeps them: its directory layout and its YAML layout.

Directory layout (``a0deploy export --format directory``)::

    flows/<name>.json                    {"name", "actions"}: JSON.stringify(…, null, 2) + "\\n"
    flow-vault-connections/<name>.json   {"name", "app_id", "setup": "@@SETUP_CONFIG@@"} + "\\n"

YAML layout (``a0deploy export --format yaml``)::

    tenant.yaml        flows: [{name, body: ./flows/<name>.json}]
                       flowVaultConnections: [{name, app_id, setup: '@@SETUP_CONFIG@@'}]
    flows/<name>.json  the flow, as above but without the final newline

File names are the deploy CLI's (``names``), JSON its formatting and key order
(``jsontext``), tenant.yaml its js-yaml style (``yamltext``). A connection's ``setup`` is
always the deploy CLI's keyword, never a secret. Exports that meet files already there keep
the ones that mean the same, and fill Sluice's two sections into a tenant.yaml that holds
others (``files``).
"""

from flows_app.layouts.files import LayoutError, write, zip_bytes
from flows_app.layouts.reader import Found, connection_notes, import_found, read
from flows_app.layouts.shape import DIRECTORY, LAYOUTS, YAML
from flows_app.layouts.writer import export_files

__all__ = [
    "DIRECTORY",
    "LAYOUTS",
    "YAML",
    "Found",
    "LayoutError",
    "connection_notes",
    "export_files",
    "import_found",
    "read",
    "write",
    "zip_bytes",
]
