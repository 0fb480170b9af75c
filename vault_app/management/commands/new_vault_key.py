from cryptography.fernet import Fernet
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print a new vault key for SLUICE_VAULT_KEYS."

    def handle(self, **options):
        self.stdout.write(Fernet.generate_key().decode())
