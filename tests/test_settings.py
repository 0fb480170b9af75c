"""Settings come from the environment, strictly; production refuses to start unsafe."""

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sluice import env

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **variables):
    """Run manage.py in a fresh process with only the given Sluice variables set."""
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("SLUICE_") and k != "DATABASE_URL"
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )


def production(tmp_path, **overrides):
    variables = {
        "SLUICE_MODE": "production",
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_SECRET_KEY": "k" * 20 + "abcdefghijklmnopqrstuvwxyz0123456789",
        "SLUICE_VAULT_KEYS": Fernet.generate_key().decode(),
        "SLUICE_ALLOWED_HOSTS": "sluice.example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SLUICE_BROKER_URL": "redis://127.0.0.1:6379/0",
    }
    variables.update(overrides)
    return {k: v for k, v in variables.items() if v is not None}


def test_a_bad_boolean_is_an_error_that_names_the_variable():
    with pytest.raises(env.SettingError, match="SLUICE_DEBUG must be true or false"):
        env.boolean("SLUICE_DEBUG", False, environ={"SLUICE_DEBUG": "maybe"})


@pytest.mark.parametrize("word, expected", [("1", True), ("yes", True), ("OFF", False), ("", True)])
def test_booleans_accept_the_usual_words(word, expected):
    assert env.boolean("X", True, environ={"X": word}) is expected


def test_numbers_are_checked_against_their_range():
    with pytest.raises(env.SettingError, match="SLUICE_PORT must be between 1 and 65535"):
        env.integer("SLUICE_PORT", 8000, 1, 65535, environ={"SLUICE_PORT": "70000"})
    with pytest.raises(env.SettingError, match="SLUICE_PORT must be a whole number"):
        env.integer("SLUICE_PORT", 8000, 1, 65535, environ={"SLUICE_PORT": "80a"})


def test_secrets_can_come_from_a_file(tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    assert env.string("SLUICE_SECRET_KEY", environ={"SLUICE_SECRET_KEY_FILE": str(secret)}) == (
        "from-a-file"
    )


def test_a_variable_and_its_file_twin_cannot_both_be_set(tmp_path):
    with pytest.raises(env.SettingError, match="both set"):
        env.raw("X", environ={"X": "a", "X_FILE": str(tmp_path)})


def test_an_unreadable_secret_file_is_named(tmp_path):
    with pytest.raises(env.SettingError, match="SLUICE_VAULT_KEYS_FILE: cannot read"):
        env.raw("SLUICE_VAULT_KEYS", environ={"SLUICE_VAULT_KEYS_FILE": str(tmp_path / "no")})


def test_a_bad_value_stops_start_up_with_a_message_not_a_traceback(tmp_path):
    result = manage("check", SLUICE_DATA_DIR=str(tmp_path), SLUICE_DEBUG="maybe")
    assert result.returncode == 2
    assert "SLUICE_DEBUG must be true or false" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_vault_key_stops_start_up(tmp_path):
    result = manage("check", SLUICE_DATA_DIR=str(tmp_path), SLUICE_VAULT_KEYS="not-a-key")
    assert result.returncode == 2
    assert "SLUICE_VAULT_KEYS: key 1 is not a Fernet key" in result.stderr


def test_the_embedded_default_makes_its_keys_once_and_says_so_once(tmp_path):
    first = manage("check", SLUICE_DATA_DIR=str(tmp_path))
    second = manage("check", SLUICE_DATA_DIR=str(tmp_path))
    assert first.returncode == second.returncode == 0, first.stderr
    assert "generated a new secret key" in first.stderr
    assert "generated a new vault key" in first.stderr
    assert "generated" not in second.stderr
    for name in ("secret_key", "vault.key"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    Fernet((tmp_path / "vault.key").read_text().strip())


def test_production_starts_with_real_keys(tmp_path):
    result = manage("check", **production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert not (tmp_path / "vault.key").exists()


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = manage("check", **production(tmp_path, SLUICE_SECRET_KEY=None))
    assert result.returncode == 2
    assert "SLUICE_SECRET_KEY (or SLUICE_SECRET_KEY_FILE) must be set in production" in (
        result.stderr
    )


@pytest.mark.parametrize(
    "overrides, check_id",
    [
        ({"SLUICE_SECRET_KEY": "short"}, "sluice.E001"),
        ({"SLUICE_VAULT_KEYS": None}, "sluice.E002"),
        ({"SLUICE_ALLOW_LOCAL_ENDPOINTS": "true"}, "sluice.E003"),
        ({"SLUICE_ALLOWED_HOSTS": None}, "sluice.E004"),
        ({"SLUICE_DEBUG": "on"}, "sluice.E005"),
    ],
)
def test_production_checks_refuse_unsafe_settings(tmp_path, overrides, check_id):
    result = manage("check", **production(tmp_path, **overrides))
    assert result.returncode != 0
    assert check_id in result.stderr


def test_production_warns_about_sqlite(tmp_path):
    result = manage("check", **production(tmp_path))
    assert "sluice.W001" in result.stderr + result.stdout


def test_production_warns_without_a_shared_channel_layer(tmp_path):
    without = manage("check", **production(tmp_path))
    assert "sluice.W004" in without.stderr + without.stdout
    layer = {"SLUICE_CHANNEL_LAYER_URL": "redis://127.0.0.1:6379/15"}
    shared = manage("check", **production(tmp_path, **layer))
    assert "sluice.W004" not in shared.stderr + shared.stdout


def test_the_web_server_refuses_an_unsafe_production_start(tmp_path):
    variables = production(tmp_path, SLUICE_VAULT_KEYS=None)
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("SLUICE_") and k != "DATABASE_URL"
    }
    result = subprocess.run(
        [sys.executable, "-c", "import sluice.asgi"],
        cwd=ROOT,
        env={**base, **variables},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refusing to start" in result.stderr and "sluice.E002" in result.stderr


def test_env_example_lists_every_variable_sluice_reads():
    read = set()
    for path in [*ROOT.glob("*_app/**/*.py"), *ROOT.glob("sluice/**/*.py"), *ROOT.glob("bin/*")]:
        text = path.read_text()
        read |= set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', text))
        read |= set(re.findall(r"\$\{?(SLUICE_[A-Z_]+)", text))
    listed = set(re.findall(r"^#?([A-Z_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert "SLUICE_VAULT_KEYS" in read and "DATABASE_URL" in read
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"
    assert listed <= read, f".env.example lists unused variables: {sorted(listed - read)}"


@pytest.mark.parametrize(
    "value",
    [
        "sluice.example.com",
        "ftp://sluice.example.com",
        "https://sluice.example.com/sluice",
        "https://sluice.example.com/?x=1",
        "https://someone@sluice.example.com",
        "http://127.0.0.1:99999",
    ],
)
def test_a_public_url_must_be_an_origin(value):
    with pytest.raises(env.SettingError, match=r"SLUICE_PUBLIC_URL must be an http\(s\) address"):
        env.origin("SLUICE_PUBLIC_URL", "", environ={"SLUICE_PUBLIC_URL": value})


def test_a_public_url_is_kept_without_its_trailing_slash():
    assert env.origin("X", "", environ={"X": "https://sluice.example.com/"}) == (
        "https://sluice.example.com"
    )
    assert env.origin("X", "", environ={"X": "http://[::1]:8000"}) == "http://[::1]:8000"


@pytest.mark.parametrize(
    ("host", "reached_at"),
    [
        ("0.0.0.0", "http://127.0.0.1:9000"),
        ("::", "http://127.0.0.1:9000"),
        ("192.0.2.7", "http://192.0.2.7:9000"),
        ("::1", "http://[::1]:9000"),
    ],
)
def test_the_embedded_default_reaches_itself_where_make_run_listens(host, reached_at):
    assert env.local_origin(host, 9000) == reached_at


def test_a_bad_public_url_stops_start_up(tmp_path):
    result = manage("check", SLUICE_DATA_DIR=str(tmp_path), SLUICE_PUBLIC_URL="sluice.example.com")
    assert result.returncode == 2
    assert "SLUICE_PUBLIC_URL must be an http(s) address" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_tells_its_worker_where_sandbox_tenants_are_served(monkeypatch, settings):
    from sluice.management.commands.serve import _children_environ

    settings.PRODUCTION = False
    monkeypatch.delenv("SLUICE_PUBLIC_URL", raising=False)
    monkeypatch.delenv("SLUICE_PUBLIC_URL_FILE", raising=False)
    assert _children_environ("0.0.0.0", 9000)["SLUICE_PUBLIC_URL"] == "http://127.0.0.1:9000"

    monkeypatch.setenv("SLUICE_PUBLIC_URL", "https://sluice.example.com")
    assert _children_environ("0.0.0.0", 9000)["SLUICE_PUBLIC_URL"] == "https://sluice.example.com"

    settings.PRODUCTION = True
    monkeypatch.delenv("SLUICE_PUBLIC_URL")
    assert "SLUICE_PUBLIC_URL" not in _children_environ("0.0.0.0", 9000)
