"""Set Sluice up on a throwaway SQLite database under a temporary folder, for a benchmark."""

import os

CLEARED = (
    "DATABASE_URL",
    "SLUICE_VAULT_KEYS",
    "SLUICE_SECRET_KEY",
    "SLUICE_BROKER_URL",
    "SLUICE_CHANNEL_LAYER_URL",
    "SLUICE_DEBUG",
)


def setup_django(data_dir: str, **variables: str) -> None:
    """Configure the embedded default in ``data_dir`` (plus ``variables``) and migrate."""
    for name in CLEARED:
        os.environ.pop(name, None)
    os.environ.update(
        SLUICE_MODE="embedded",
        SLUICE_DATA_DIR=data_dir,
        SLUICE_ALLOW_LOCAL_ENDPOINTS="true",
        SLUICE_ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        SLUICE_LOG_LEVEL="warning",
        DJANGO_SETTINGS_MODULE="sluice.settings",
        **variables,
    )
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    django.setup()
    # Static files as they are in the apps and static/, as in the tests: no collectstatic.
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages, STATIC_ROOT=None, WHITENOISE_USE_FINDERS=True).enable()
    call_command("migrate", verbosity=0)
