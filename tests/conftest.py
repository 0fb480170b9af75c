import pytest
from django.conf import settings as django_settings
from django.test import Client, override_settings

from accounts_app.models import Role, User

pytest_plugins = ["tests.standins.fixtures", "tests.browser", "tests.sluice_server"]
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session", autouse=True)
def _static_files_as_they_are():
    """Serve the static files from the apps and static/ as they are, so the suite needs no
    collectstatic. tests/test_static_files.py checks the collected, hashed and compressed
    copies that Sluice serves."""
    storages = {
        **django_settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, STATIC_ROOT=None, WHITENOISE_USE_FINDERS=True):
        yield


@pytest.fixture(autouse=True)
def _fast_and_local(settings):
    """Hash passwords fast and let connections point at this machine's stand-ins."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ALLOW_LOCAL_ENDPOINTS = True
    settings.OUTBOUND_TIMEOUT = 3


def _person(email, role):
    return User.objects.create_user(email, PASSWORD, role=role, name=email.split("@")[0].title())


@pytest.fixture
def admin_user(db):
    return _person("ada@example.com", Role.ADMIN)


@pytest.fixture
def editor_user(db):
    return _person("eddie@example.com", Role.EDITOR)


@pytest.fixture
def viewer_user(db):
    return _person("vera@example.com", Role.VIEWER)


def _client_for(user, **kwargs):
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def editor_client(editor_user):
    return _client_for(editor_user)


@pytest.fixture
def viewer_client(viewer_user):
    return _client_for(viewer_user)


@pytest.fixture
def csrf_admin_client(admin_user):
    """An admin's browser that, like a real one, must send the CSRF token."""
    return _client_for(admin_user, enforce_csrf_checks=True)


@pytest.fixture
def unused_port():
    """A loopback port that nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh_version_memory():
    """Each test's database gives out the same ids again: forget what earlier tests read."""
    from flows_app.services import forget_cached_versions

    forget_cached_versions()


@pytest.fixture(autouse=True)
def _runs_in_process():
    """Execute queued runs in the test's own process, unless a test starts real workers."""
    from sluice.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
