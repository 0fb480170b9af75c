"""A secret typed into a connection form that comes back for correction is kept, sealed,
for the next submit; a connection whose login needs a secret is never saved without it,
and its test says so."""

import re

import pytest

from accounts_app.models import Role, User
from tests.conftest import PASSWORD
from tests.vault_helpers import AUTH0_SECRET, FORMS, SMTP_PASSWORD, TWILIO_TOKEN, smtp_form
from vault_app import kept
from vault_app.models import Connection

KEPT = '<span class="pill pill-ok">Kept</span> from your last try, hidden'
# For each kind: its secret field, the secret, and a bad value of another field.
CASES = {
    "auth0": ("client_secret", AUTH0_SECRET, {"domain": "https://acme.us.auth0.com"}),
    "smtp": ("password", SMTP_PASSWORD, {"sender_email": "not-an-email"}),
    "twilio": ("auth_token", TWILIO_TOKEN, {"from_number": "0415 555"}),
}


def kept_token(html: str) -> str:
    found = re.search(r'<input type="hidden" name="kept_secrets" value="([^"]+)">', html)
    assert found, "the form carries no kept secrets"
    return found.group(1)


def post_new(client, kind, data):
    return client.post(f"/vault/new/?kind={kind}", data)


@pytest.mark.parametrize("kind", CASES)
def test_a_secret_typed_into_a_form_with_an_error_is_kept_for_the_next_submit(admin_client, kind):
    secret_field, secret, bad = CASES[kind]
    response = post_new(admin_client, kind, FORMS[kind](**bad))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="id_{next(iter(bad))}_error"' in html
    assert secret not in html
    assert KEPT in html
    assert re.search(rf'<input type="password" name="{secret_field}"(?![^>]*value=)[^>]*>', html)
    assert not Connection.objects.exists()

    fixed = FORMS[kind](**{secret_field: ""}, kept_secrets=kept_token(html))
    response = post_new(admin_client, kind, fixed)
    assert response.status_code == 302
    assert Connection.objects.get().secrets()[secret_field] == secret


@pytest.mark.parametrize("kind", CASES)
def test_a_kept_secret_survives_more_than_one_correction(admin_client, kind):
    secret_field, secret, bad = CASES[kind]
    html = post_new(admin_client, kind, FORMS[kind](**bad)).content.decode()
    again = FORMS[kind](**bad, **{secret_field: "", "name": ""}, kept_secrets=kept_token(html))
    html = post_new(admin_client, kind, again).content.decode()
    assert "This field is required" in html and secret not in html
    response = post_new(
        admin_client, kind, FORMS[kind](**{secret_field: ""}, kept_secrets=kept_token(html))
    )
    assert response.status_code == 302
    assert Connection.objects.get().secrets()[secret_field] == secret


def test_typing_a_new_secret_replaces_the_kept_one(admin_client):
    html = post_new(admin_client, "auth0", FORMS["auth0"](domain="bad domain")).content.decode()
    response = post_new(
        admin_client,
        "auth0",
        FORMS["auth0"](client_secret="typed-again-secret", kept_secrets=kept_token(html)),
    )
    assert response.status_code == 302
    assert Connection.objects.get().secrets()["client_secret"] == "typed-again-secret"


def test_a_secret_typed_while_editing_is_kept_over_the_stored_one(admin_client):
    assert post_new(admin_client, "auth0", FORMS["auth0"]()).status_code == 302
    connection = Connection.objects.get()
    url = f"/vault/{connection.pk}/"
    html = admin_client.post(
        url, FORMS["auth0"](client_secret="rotated-secret-9", domain="not a domain")
    ).content.decode()
    assert KEPT in html and "rotated-secret-9" not in html
    response = admin_client.post(
        url, FORMS["auth0"](client_secret="", kept_secrets=kept_token(html))
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.secrets()["client_secret"] == "rotated-secret-9"


def test_kept_secrets_open_only_for_the_person_and_form_they_were_typed_into(admin_client, client):
    html = post_new(admin_client, "auth0", FORMS["auth0"](domain="bad domain")).content.decode()
    token = kept_token(html)
    other_admin = User.objects.create_user("grace@example.com", PASSWORD, role=Role.ADMIN)
    client.force_login(other_admin)
    response = post_new(client, "auth0", FORMS["auth0"](client_secret="", kept_secrets=token))
    assert b'id="id_client_secret_error"' in response.content
    assert not Connection.objects.exists()

    assert post_new(admin_client, "auth0", FORMS["auth0"](name="Other tenant")).status_code == 302
    existing = Connection.objects.get()
    response = admin_client.post(
        f"/vault/{existing.pk}/", FORMS["auth0"](client_secret="", kept_secrets=token)
    )
    assert response.status_code == 302
    existing.refresh_from_db()
    assert existing.secrets()["client_secret"] == AUTH0_SECRET


def test_a_tampered_kept_token_keeps_nothing(admin_client):
    html = post_new(admin_client, "auth0", FORMS["auth0"](domain="bad domain")).content.decode()
    token = kept_token(html)
    tampered = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
    for value in (tampered, "not a token", "é"):
        response = post_new(
            admin_client, "auth0", FORMS["auth0"](client_secret="", kept_secrets=value)
        )
        assert b'id="id_client_secret_error"' in response.content
    assert not Connection.objects.exists()


def test_a_secret_kept_too_long_must_be_typed_again(admin_client, monkeypatch):
    monkeypatch.setattr(kept, "KEEP_FOR", -1)
    html = post_new(admin_client, "smtp", smtp_form(sender_email="nope")).content.decode()
    monkeypatch.undo()
    response = post_new(
        admin_client, "smtp", smtp_form(password="", username="", kept_secrets=kept_token(html))
    )
    assert b"The password you typed before was kept for 15 minutes only" in response.content
    assert b'id="id_password_error"' in response.content
    assert not Connection.objects.exists()


def test_an_smtp_username_needs_a_password(admin_client):
    response = post_new(admin_client, "smtp", smtp_form(password=""))
    assert response.status_code == 200
    assert re.search(
        r'id="id_password_error"><li>Enter the password that goes with the username, '
        r"or clear the username\.",
        response.content.decode(),
    )
    assert not Connection.objects.exists()
    assert post_new(admin_client, "smtp", smtp_form(password="", username="")).status_code == 302


def test_removing_the_password_of_an_smtp_login_is_refused(admin_client):
    assert post_new(admin_client, "smtp", smtp_form()).status_code == 302
    connection = Connection.objects.get()
    response = admin_client.post(
        f"/vault/{connection.pk}/", smtp_form(password="", clear_password="on")
    )
    assert b"Enter the password that goes with the username" in response.content
    connection.refresh_from_db()
    assert connection.secrets()["password"] == SMTP_PASSWORD


@pytest.mark.parametrize(
    "kind, blank",
    [("auth0", {"client_secret": ""}), ("twilio", {"auth_token": ""})],
)
def test_a_connection_that_logs_in_with_a_secret_needs_it(admin_client, kind, blank):
    response = post_new(admin_client, kind, FORMS[kind](**blank))
    assert f'id="id_{next(iter(blank))}_error"><li>This field is required'.encode() in (
        response.content
    )
    assert not Connection.objects.exists()


def test_the_test_of_an_smtp_login_without_its_password_says_why(admin_client, smtp_standin):
    credentials = smtp_standin.credentials()
    connection = Connection.objects.create(
        kind="smtp",
        name="Mail relay",
        config={k: v for k, v in credentials.items() if k != "password"},
    )
    response = admin_client.post(f"/vault/{connection.pk}/test/", follow=True)
    assert b"Mail relay: No password is set; the username needs one." in response.content
    assert smtp_standin.logins == []
    page = admin_client.get("/vault/").content.decode()
    assert "Needs setup" in page and "Missing: Password" in page


def test_the_test_of_a_placeholder_names_what_is_missing(admin_client):
    connection = Connection.objects.create(kind="auth0", name="Imported tenant")
    response = admin_client.post(f"/vault/{connection.pk}/test/", follow=True)
    assert response.status_code == 200
    assert b"Imported tenant: No tenant domain is set." in response.content
    connection.refresh_from_db()
    assert connection.last_test_ok is False
