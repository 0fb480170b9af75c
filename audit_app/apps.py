from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit_app"
    verbose_name = "Audit log"

    def ready(self):
        from audit_app import signals  # noqa: F401  (connects the failed sign-in receiver)
