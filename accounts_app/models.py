"""People who use Sluice, each with one of three roles."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


ROLE_HELP = {
    Role.ADMIN: "Manages the vault and people, and everything an editor does.",
    Role.EDITOR: "Builds, publishes and runs flows.",
    Role.VIEWER: "Reads flows and run history.",
}


class SluiceUserManager(UserManager):
    def get_by_natural_key(self, username):
        return self.get(email=(username or "").strip().lower())

    def _create_user_object(self, username, email, password, **extra_fields):
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra_fields)
        user.password = ""
        user.set_password(password)
        return user

    def create_user(self, email, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("role", Role.VIEWER)
        user = self._create_user_object(None, email, password, **extra_fields)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra_fields):  # type: ignore[override]
        extra_fields["role"] = Role.ADMIN
        extra_fields["is_superuser"] = True
        return self.create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an email address; the role decides what they may do."""

    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    USERNAME_FIELD = "email"  # type: ignore[misc]
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[misc]

    objects = SluiceUserManager()  # type: ignore[misc]

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.name or self.email

    def save(self, *args, **kwargs):
        self.email = self.email.lower()
        # Admins hold every permission, Django's admin site included; no one else does.
        self.is_staff = self.is_superuser = self.role == Role.ADMIN
        super().save(*args, **kwargs)

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email.split("@")[0]

    @property
    def can_edit_flows(self) -> bool:
        return self.is_active and self.role in (Role.ADMIN, Role.EDITOR)
