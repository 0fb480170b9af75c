"""How long ``manage.py flows import`` takes as the file grows.

Each file is one flow in Auth0's format, of the size asked for, of many small steps as
people write them: shared variables computed from earlier ones, a Custom API request every
fifth step reading earlier steps' outputs, and an If/then with an email every tenth. It
prints the seconds each import takes (read, check, write) through the command itself, on
the embedded default (SQLite), and the seconds per MB: an import whose time grows faster
than its size shows a growing per-MB figure. Run from the repository root:
.venv/bin/python -m benchmarks.imports [MB ...]   (default 0.25 1 4)
"""

import json
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.django_setup import setup_django

CONNECTION = "Acme tenant"


def request_step(index: int) -> dict:
    previous = f"s{index - 1}" if index else None
    reads = f"{{{{ actions.{previous}.body.id ?? context.user.user_id }}}}" if previous else ""
    return {
        "id": f"s{index}",
        "alias": f"Look up organisation {index}",
        "type": "AUTH0",
        "action": "SEND_REQUEST",
        "params": {
            "connection_id": CONNECTION,
            "method": "POST",
            "pathname": f"/api/v2/organizations/{{{{ functions.encodeURIComponent('{index}') }}}}",
            "headers": {"X-Trace": f"run-{index}-{{{{ context.user.user_id }}}}"},
            "payload": {
                "name": f"org-{index}",
                "display_name": "{{ context.user.name | upcase }}",
                "metadata": {"after": reads, "plan": "{{ fields.plan }}"},
            },
        },
    }


def store_step(index: int) -> dict:
    return {
        "id": f"s{index}",
        "type": "FLOW",
        "action": "STORE_VARS",
        "params": {"vars": {f"v{index}": f"{{{{ vars.v{index - 1} | plus: {index} }}}}"}},
    }


def condition_step(index: int) -> dict:
    return {
        "id": f"s{index}",
        "type": "FLOW",
        "action": "BOOLEAN_CONDITION",
        "params": {
            "if": {
                "operator": "EQUALS",
                "operands": [f"{{{{ actions.s{index - 1}.status }}}}", 200],
            },
            "then": [
                {
                    "id": f"s{index}_mail",
                    "type": "AUTH0",
                    "action": "SEND_EMAIL",
                    "params": {
                        "to": "{{ context.user.email }}",
                        "subject": f"Step {index} done",
                        "body": f"<p>Hello {{{{ context.user.name }}}}, step {index} ran.</p>",
                    },
                }
            ],
            "else": [],
        },
    }


def flow_of(size: int) -> dict:
    """A flow whose JSON is about ``size`` bytes."""
    actions: list = []
    document = {"name": f"Flow of {size} bytes", "actions": actions}
    written = len(json.dumps(document))
    while written < size:
        index = len(actions)
        if index % 10 == 9:
            step = condition_step(index)
        elif index % 5 == 0:
            step = request_step(index)
        else:
            step = store_step(index)
        actions.append(step)
        written += len(json.dumps(step)) + 2
    return document


def main(sizes: list[float]) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        setup_django(data_dir)
        from django.core.management import call_command

        from flows_app.models import Flow
        from vault_app.models import Connection

        Connection.objects.create(kind="auth0", name=CONNECTION)
        print("size      steps   import      per MB")
        for megabytes in sizes:
            document = flow_of(int(megabytes * 1_000_000))
            path = Path(data_dir) / f"flow-{megabytes}.json"
            path.write_text(json.dumps(document, indent=2))
            limit = str(path.stat().st_size / 1_000_000 + 1)
            started = time.perf_counter()
            call_command("flows", "import", "--max-size", limit, str(path), stdout=_Quiet())
            seconds = time.perf_counter() - started
            steps = len(json.dumps(document["actions"]).split('"id"')) - 1
            print(
                f"{megabytes:5.2f} MB  {steps:6d}  {seconds:7.2f} s  {seconds / megabytes:6.2f} s"
            )
            Flow.objects.all().delete()
        print(f"command: .venv/bin/python -m benchmarks.imports {' '.join(map(str, sizes))}")


class _Quiet:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass


if __name__ == "__main__":
    main([float(arg) for arg in sys.argv[1:]] or [0.25, 1, 4])
