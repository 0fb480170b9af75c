"""System checks that refuse a production deployment that is not set up safely."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security, deploy=False)
def check_production(app_configs=None, **kwargs):
    if not settings.PRODUCTION:
        return []
    problems: list[CheckMessage] = []
    key = settings.SECRET_KEY
    if len(key) < 40 or len(set(key)) < 10 or key.startswith("django-insecure"):
        problems.append(
            Error(
                "SLUICE_SECRET_KEY is too weak for production.",
                hint="Use at least 40 random characters, e.g. python -c "
                "'import secrets; print(secrets.token_urlsafe(50))'.",
                id="sluice.E001",
            )
        )
    if not settings.VAULT_KEYS:
        problems.append(
            Error(
                "SLUICE_VAULT_KEYS is not set, so vault secrets cannot be encrypted.",
                hint="Make a key with `python manage.py new_vault_key` and set SLUICE_VAULT_KEYS.",
                id="sluice.E002",
            )
        )
    if settings.ALLOW_LOCAL_ENDPOINTS:
        problems.append(
            Error(
                "SLUICE_ALLOW_LOCAL_ENDPOINTS is on in production.",
                hint="It exists for local stand-ins in tests and demos; turn it off.",
                id="sluice.E003",
            )
        )
    if not settings.ALLOWED_HOSTS:
        problems.append(
            Error(
                "SLUICE_ALLOWED_HOSTS is empty, so every request would be refused.",
                hint="List the host names Sluice is served on, comma-separated.",
                id="sluice.E004",
            )
        )
    if settings.DEBUG:
        problems.append(
            Error(
                "SLUICE_DEBUG is on in production; error pages would show internals.",
                id="sluice.E005",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        problems.append(
            Warning(
                "Production is running on SQLite; workers on other machines cannot share it.",
                hint="Set DATABASE_URL to a PostgreSQL database.",
                id="sluice.W001",
            )
        )
    if settings.CELERY_BROKER_URL.startswith("sqla+"):
        problems.append(
            Warning(
                "Production is using the embedded SQLite broker.",
                hint="Set SLUICE_BROKER_URL to a Redis URL, e.g. redis://127.0.0.1:6379/0.",
                id="sluice.W002",
            )
        )
    if not settings.CHANNEL_LAYER_URL:
        problems.append(
            Warning(
                "Production has no shared channel layer: run pages poll for progress, and API "
                "callers that wait for a run's end are woken by polling the database.",
                hint="Set SLUICE_CHANNEL_LAYER_URL to a Redis URL, e.g. redis://127.0.0.1:6379/1.",
                id="sluice.W004",
            )
        )
    return problems


@register()
def check_metrics(app_configs=None, **kwargs):
    """Warn when /metrics is on but the processes cannot add up their counts."""
    import os

    if not (settings.METRICS_TOKEN or settings.METRICS_ALLOW_FROM):
        return []
    if settings.METRICS_DIR and os.path.isdir(settings.METRICS_DIR):
        return []
    return [
        Warning(
            "/metrics is on, but PROMETHEUS_MULTIPROC_DIR is not an existing directory: "
            "each process would report only its own counts.",
            hint="Point PROMETHEUS_MULTIPROC_DIR at an empty directory, the same for the web "
            "server and the workers of this machine, before starting them.",
            id="sluice.W005",
        )
    ]


STATIC_FILES_NOT_COLLECTED = "sluice.W003"


@register()
def check_static_files(app_configs=None, **kwargs):
    """Warn when static files are missing from STATIC_ROOT's manifest (a web server refuses
    to start then; other commands, collectstatic first, do not need them)."""
    from sluice import static_files

    names = static_files.missing()
    if not names:
        return []
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return [
        Warning(
            f"Static files are not collected into {settings.STATIC_ROOT}: {shown}. "
            "Pages that use them would fail.",
            hint="Run `python manage.py collectstatic --no-input` (make run does it).",
            id=STATIC_FILES_NOT_COLLECTED,
        )
    ]


def refuse_unsafe_start(serves_pages: bool = False) -> None:
    """Stop a server or worker process that the system checks find misconfigured.

    ``manage.py`` commands run the checks themselves; daphne and celery do not, so their
    entry points call this. A web server (``serves_pages``) also needs the static files.
    """
    from django.core.checks import run_checks

    errors = [
        m
        for m in run_checks(include_deployment_checks=False)
        if m.is_serious() or (serves_pages and m.id == STATIC_FILES_NOT_COLLECTED)
    ]
    if errors:
        lines = "\n".join(f"  {m.id}: {m.msg} {m.hint or ''}".rstrip() for m in errors)
        raise SystemExit(f"sluice: refusing to start:\n{lines}")
