from django.apps import AppConfig


class VaultConfig(AppConfig):
    name = "vault_app"
    verbose_name = "Vault"
