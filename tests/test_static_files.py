"""Static files as Sluice serves them: collected under hashed names, compressed with gzip
and Brotli, cached for a year; and never served stale or missing.

The rest of the suite serves them from the apps as they are (tests/conftest.py); here the
settings are Sluice's own, and collectstatic runs once for the module.
"""

import gzip
import importlib
import os
import re
import time
from pathlib import Path

import brotli
import pytest
from django.contrib.staticfiles import finders
from django.test import Client, override_settings

from sluice import static_files
from sluice.checks import check_static_files

ROOT = Path(__file__).resolve().parent.parent


def sluice_settings(static_root: Path, **more):
    own = importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    return override_settings(
        STATIC_ROOT=static_root, STORAGES=own.STORAGES, WHITENOISE_USE_FINDERS=False, **more
    )


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    static_root = tmp_path_factory.mktemp("static")
    with sluice_settings(static_root):
        assert static_files.missing()  # nothing collected yet
        assert static_files.collect_if_needed() is True
        yield static_root


def test_pages_name_hashed_copies_served_with_brotli_or_gzip_and_cached_for_a_year(collected, db):
    with sluice_settings(collected):
        client = Client()
        page = client.get("/login/").content.decode()
        url = re.search(r'href="(/static/css/sluice\.[0-9a-f]{12}\.css)"', page).group(1)
        source = Path(finders.find("css/sluice.css")).read_bytes()

        as_brotli = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert as_brotli.status_code == 200
        assert as_brotli["Content-Encoding"] == "br"
        assert as_brotli["Cache-Control"] == "max-age=315360000, public, immutable"
        assert brotli.decompress(b"".join(as_brotli.streaming_content)) == source
        assert int(as_brotli["Content-Length"]) < len(source) / 2

        as_gzip = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert as_gzip["Content-Encoding"] == "gzip"
        assert gzip.decompress(b"".join(as_gzip.streaming_content)) == source

        plain = client.get(url)
        assert not plain.has_header("Content-Encoding")
        assert b"".join(plain.streaming_content) == source


def test_the_htmx_script_is_hashed_too(collected, db):
    with sluice_settings(collected):
        page = Client().get("/login/").content.decode()
        assert re.search(r'src="/static/django_htmx/[^"]*\.[0-9a-f]{12}\.js"', page), page


def test_nothing_is_left_to_collect_after_collecting(collected):
    with sluice_settings(collected):
        assert static_files.missing() == [] and static_files.changed() == []
        assert check_static_files() == []
        assert static_files.collect_if_needed() is False


def test_a_new_or_changed_file_is_collected_again(collected, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "sluice-new.css").write_text("body { color: red; }")
    dirs = [ROOT / "static", extra]
    with sluice_settings(collected, STATICFILES_DIRS=dirs):
        assert static_files.missing() == ["sluice-new.css"]
        [warning] = check_static_files()
        assert warning.id == "sluice.W003" and "sluice-new.css" in warning.msg
        assert "collectstatic" in warning.hint

    edited = tmp_path / "edited"
    (edited / "css").mkdir(parents=True)
    newer = edited / "css" / "sluice.css"
    newer.write_bytes(Path(finders.find("css/sluice.css")).read_bytes() + b"\n")
    later = time.time() + 60
    os.utime(newer, (later, later))
    with sluice_settings(collected, STATICFILES_DIRS=[edited, ROOT / "static"]):
        assert static_files.missing() == []
        assert static_files.changed() == ["css/sluice.css"]


def test_without_collected_files_the_web_server_refuses_to_start(tmp_path):
    import subprocess
    import sys

    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("SLUICE_") and k != "DATABASE_URL"
    }
    environment.update(SLUICE_DATA_DIR=str(tmp_path / "data"), SLUICE_STATIC_ROOT=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-c", "import sluice.asgi"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "refusing to start" in result.stderr and "sluice.W003" in result.stderr
    assert "collectstatic" in result.stderr
