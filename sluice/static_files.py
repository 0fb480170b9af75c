"""Whether the static files collected into STATIC_ROOT are those the code has now.

``collectstatic`` copies every static file under a name that carries a hash of its
content, with gzip and Brotli copies, and writes a manifest of those names. Pages name the
hashed copies; a file missing from the manifest makes every page that uses it fail. So the
web server refuses to start without them (``sluice.checks``), and ``manage.py serve``
collects them first whenever they changed.
"""

from pathlib import Path

from django.apps import apps
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.management import call_command


def _sources() -> dict[str, Path]:
    """Every static file the finders offer, by its name under STATIC_URL (first one wins)."""
    ignore = apps.get_app_config("staticfiles").ignore_patterns  # type: ignore[attr-defined]
    found: dict[str, Path] = {}
    for finder in finders.get_finders():
        for name, storage in finder.list(ignore):
            found.setdefault(name.replace("\\", "/"), Path(storage.path(name)))
    return found


def _manifest() -> tuple[set[str], float] | None:
    """The names the manifest lists and when it was written, or None without one."""
    storage = staticfiles_storage
    if not isinstance(storage, ManifestFilesMixin):
        return None
    path = Path(storage.path(storage.manifest_name))
    if not path.exists():
        return set(), 0.0
    paths, _ = storage.load_manifest()
    return set(paths), path.stat().st_mtime


def uses_manifest() -> bool:
    return isinstance(staticfiles_storage, ManifestFilesMixin)


def missing() -> list[str]:
    """Static files the manifest lacks: pages that use them would fail."""
    manifest = _manifest()
    if manifest is None:
        return []
    return sorted(set(_sources()) - manifest[0])


def changed() -> list[str]:
    """Static files changed since they were collected: pages would show the old copies."""
    manifest = _manifest()
    if manifest is None:
        return []
    collected, written = manifest
    return sorted(
        name
        for name, path in _sources().items()
        if name in collected and path.stat().st_mtime > written
    )


def collect_if_needed() -> bool:
    """Run collectstatic when a static file is missing or changed; say whether it ran."""
    if not uses_manifest() or not (missing() or changed()):
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    return True
