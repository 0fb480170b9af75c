from django.apps import AppConfig


class SluiceConfig(AppConfig):
    name = "sluice"
    verbose_name = "Sluice"

    def ready(self):
        from sluice import checks  # noqa: F401  (registers the system checks)
