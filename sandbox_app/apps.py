from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox_app"
    verbose_name = "Sandbox tenants"
