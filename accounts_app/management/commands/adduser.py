import secrets

from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.forms import ValidationError

from accounts_app.models import Role, User
from audit_app.records import COMMAND_LINE, record


class Command(BaseCommand):
    help = "Create a person who can sign in, with a role; prints a password unless given one."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--role", choices=Role.values, default=Role.VIEWER)
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--password-file", help="Read the password from this file instead of generating one."
        )

    def handle(self, email, role, name, password_file, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not an email address.") from None
        if User.objects.filter(email=email.lower()).exists():
            raise CommandError(f"{email} already has an account.")
        password = _read_password(password_file) if password_file else None
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        person = User.objects.create_user(email, password, role=role, name=name)
        record(COMMAND_LINE, "person.added", person, {"role": role})
        self.stdout.write(f"Created {email} as {Role(role).label}.")
        if generated:
            self.stdout.write(f"Password: {password}")


def _read_password(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read().rstrip("\r\n")
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from None
