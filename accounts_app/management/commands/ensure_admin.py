import secrets

from django.core.management.base import BaseCommand

from accounts_app.models import Role, User
from audit_app.records import COMMAND_LINE, record
from sluice import env


class Command(BaseCommand):
    help = (
        "Create the first admin if there is no admin yet, from SLUICE_ADMIN_EMAIL and "
        "SLUICE_ADMIN_PASSWORD or with a generated password, and print how to sign in."
    )

    def handle(self, **options):
        existing = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
        if existing:
            self.stdout.write(
                f"Sign in as {existing.email} (its password was set on first start; "
                f"`.venv/bin/python manage.py changepassword {existing.email}` sets a new one)."
            )
            return
        email = env.string("SLUICE_ADMIN_EMAIL", "admin@sluice.local")
        password = env.string("SLUICE_ADMIN_PASSWORD")
        generated = not password
        password = password or secrets.token_urlsafe(12)
        admin = User.objects.create_superuser(email, password, name="Admin")
        record(COMMAND_LINE, "person.added", admin, {"role": Role.ADMIN})
        shown = password if generated else "(from SLUICE_ADMIN_PASSWORD)"
        self.stdout.write(f"Created the first admin. Sign in as {email} with password {shown}")
