from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from audit_app import records
from vault_app.crypto import VaultKeyError, reseal
from vault_app.models import Connection, ManagementToken


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key in SLUICE_VAULT_KEYS. "
        "Run it after putting a new key first; then the old keys can be removed."
    )

    def handle(self, **options):
        touched, failed = 0, []
        with transaction.atomic():
            for connection in Connection.objects.select_for_update().exclude(secrets_token=""):
                try:
                    connection.secrets_token = reseal(connection.secrets_token)
                except VaultKeyError:
                    failed.append(connection.name)
                    continue
                connection.save(update_fields=["secrets_token"])
                touched += 1
            # Cached Management API tokens are sealed too; they are cheap to fetch again.
            ManagementToken.objects.all().delete()
            outputs = _reseal_masked_outputs()
            changes = {"connections": touched, "masked_outputs": outputs, "unreadable": failed}
            vault = records.Target(label="Vault keys")
            records.record(records.COMMAND_LINE, "vault.keys_rotated", vault, changes)
        self.stdout.write(f"Re-encrypted the secrets of {touched} connection(s).")
        if outputs:
            self.stdout.write(f"Re-encrypted {outputs} masked step output(s) of runs.")
        if failed:
            raise CommandError(
                f"{len(failed)} connection(s) could not be decrypted with any configured key "
                f"and were left as they were: {', '.join(failed)}."
            )


def _reseal_masked_outputs() -> int:
    """Masked outputs kept for resuming runs; one that no key opens can no longer be used
    and is dropped (a resumed run then reads it as masked)."""
    from flows_app.models import StepRun

    count = 0
    for record in (
        StepRun.objects.select_for_update().exclude(sealed_output="").only("pk", "sealed_output")
    ):
        try:
            record.sealed_output = reseal(record.sealed_output)
            count += 1
        except VaultKeyError:
            record.sealed_output = ""
        record.save(update_fields=["sealed_output"])
    return count
