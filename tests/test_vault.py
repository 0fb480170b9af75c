"""The vault: staff create, edit, test and delete connections; secrets stay sealed."""

import re

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db_connection

from flows_app.models import ConnectionUse, Flow
from tests.vault_helpers import AUTH0_SECRET, FORMS, SECRETS, SMTP_PASSWORD, auth0_form, smtp_form
from vault_app.models import Connection, Provider


def create(client, kind, **overrides):
    return client.post(f"/vault/new/?kind={kind}", FORMS[kind](**overrides))


@pytest.fixture
def three_connections(admin_client):
    for kind in FORMS:
        assert create(admin_client, kind).status_code == 302
    return {c.kind: c for c in Connection.objects.all()}


def vault_urls(pk):
    return [
        ("get", "/vault/"),
        ("get", "/vault/new/"),
        ("get", "/vault/new/?kind=auth0"),
        ("post", "/vault/new/?kind=auth0"),
        ("get", f"/vault/{pk}/"),
        ("post", f"/vault/{pk}/"),
        ("post", f"/vault/{pk}/test/"),
        ("get", f"/vault/{pk}/delete/"),
        ("post", f"/vault/{pk}/delete/"),
        ("post", "/vault/providers/"),
    ]


@pytest.mark.parametrize("kind", FORMS)
def test_an_admin_creates_a_connection_of_each_kind(admin_client, kind):
    response = create(admin_client, kind)
    assert response.status_code == 302 and response["Location"] == "/vault/"
    connection = Connection.objects.get()
    assert connection.kind == kind
    secret_name = connection.kind_spec.secret_names[0]
    assert connection.secrets()[secret_name] in SECRETS
    assert secret_name not in connection.config


def test_the_auth0_audience_defaults_to_the_tenant_api(admin_client):
    create(admin_client, "auth0")
    from vault_app.kinds.auth0 import audience

    assert audience(Connection.objects.get().credentials()) == "https://acme.us.auth0.com/api/v2/"


@pytest.mark.parametrize("persona", ["editor_client", "viewer_client"])
def test_non_staff_get_403_on_every_vault_url(request, persona, three_connections):
    client = request.getfixturevalue(persona)
    pk = three_connections["auth0"].pk
    for method, url in vault_urls(pk):
        data = auth0_form(name="Hijacked") if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
    assert set(Connection.objects.values_list("name", flat=True)) == {
        form()["name"] for form in FORMS.values()
    }
    assert not Provider.objects.exists()


def test_every_vault_form_needs_the_csrf_token(csrf_admin_client, three_connections):
    pk = three_connections["auth0"].pk
    for method, url in vault_urls(pk):
        if method == "post":
            assert csrf_admin_client.post(url, auth0_form()).status_code == 403, url
    assert Connection.objects.count() == len(FORMS)


def test_the_forms_carry_the_csrf_token(admin_client, three_connections):
    pk = three_connections["smtp"].pk
    for url in ("/vault/", "/vault/new/?kind=smtp", f"/vault/{pk}/", f"/vault/{pk}/delete/"):
        page = admin_client.get(url).content.decode()
        assert page.count("<form") == page.count('name="csrfmiddlewaretoken"'), url


def test_no_page_shows_a_secret(admin_client, three_connections):
    urls = ["/vault/", "/admin/vault_app/connection/", "/admin/vault_app/provider/"]
    for connection in three_connections.values():
        urls += [
            f"/vault/{connection.pk}/",
            f"/vault/{connection.pk}/delete/",
            f"/admin/vault_app/connection/{connection.pk}/change/",
        ]
    for url in urls:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        for secret in SECRETS:
            assert secret.encode() not in response.content, (url, secret)


@pytest.mark.django_db(transaction=True)
def test_the_database_never_holds_a_secret_in_clear(admin_client):
    for kind in FORMS:
        create(admin_client, kind)
    assert Connection.objects.count() == len(FORMS)
    dump = _database_contents()
    assert "Acme tenant" in dump
    for secret in SECRETS:
        assert secret not in dump


def _database_contents() -> str:
    """Everything the database stores, as the file on disk or as PostgreSQL's rows."""
    if db_connection.vendor == "sqlite":
        path = db_connection.settings_dict["NAME"]
        db_connection.close()
        blobs = []
        for suffix in ("", "-wal", "-journal"):
            try:
                with open(f"{path}{suffix}", "rb") as handle:
                    blobs.append(handle.read())
            except FileNotFoundError:
                pass
        return b"".join(blobs).decode("latin-1")
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = [row[0] for row in cursor.fetchall()]
        rows = []
        for table in tables:
            cursor.execute(f'SELECT t::text FROM "{table}" t')
            rows += [row[0] for row in cursor.fetchall()]
    return "\n".join(rows)


@pytest.mark.parametrize(
    "domain, message",
    [
        ("https://acme.us.auth0.com", "no https://, port or path"),
        ("acme.us.auth0.com/api", "no https://, port or path"),
        ("acme.us.auth0.com:8443", "no https://, port or path"),
        ("acme.us .auth0.com", "Remove the spaces"),
        ("acme.us.auth0\t.com", "control characters"),
        ("user@acme.us.auth0.com", "no https://, port or path"),
        ("localhost", "Enter a host name such as"),
        ("10.0.0.5", "not an IP address"),
        ("-bad-.auth0.com", "Enter a host name such as"),
    ],
)
def test_an_invalid_domain_is_a_field_error_that_keeps_the_input(admin_client, domain, message):
    response = create(admin_client, "auth0", domain=domain)
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'value="m2m-client-id"' in html and 'value="Acme tenant"' in html
    assert AUTH0_SECRET not in html
    assert not Connection.objects.exists()


def test_spaces_around_a_domain_are_trimmed(admin_client):
    assert create(admin_client, "auth0", domain="  acme.us.auth0.com ").status_code == 302
    assert Connection.objects.get().config["domain"] == "acme.us.auth0.com"


def test_a_local_stand_in_domain_needs_the_setting(admin_client, settings):
    settings.ALLOW_LOCAL_ENDPOINTS = False
    assert create(admin_client, "auth0", domain="127.0.0.1:8080").status_code == 200
    settings.ALLOW_LOCAL_ENDPOINTS = True
    assert create(admin_client, "auth0", domain="127.0.0.1:8080").status_code == 302


@pytest.mark.parametrize("port", ["0", "65536", "-1", "smtp"])
def test_a_port_out_of_range_is_a_field_error(admin_client, port):
    response = create(admin_client, "smtp", port=port)
    assert response.status_code == 200
    assert b'id="id_port_error"' in response.content
    assert b'value="smtp.example.com"' in response.content
    assert SMTP_PASSWORD.encode() not in response.content


def test_a_duplicate_name_is_refused_whatever_its_case(admin_client):
    create(admin_client, "auth0")
    response = create(admin_client, "smtp", name="ACME TENANT")
    assert b"Another connection already has this name" in response.content
    assert Connection.objects.count() == 1


def test_a_required_secret_is_needed_on_create(admin_client):
    response = create(admin_client, "auth0", client_secret="")
    assert b'id="id_client_secret_error"' in response.content
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    "kind, field, value, message",
    [
        ("twilio", "account_sid", "AC123", "AC followed by 32 hexadecimal"),
        ("twilio", "from_number", "0415 555", "international form"),
        ("twilio", "api_base_url", "http://api.twilio.com", "https://"),
        ("twilio", "api_base_url", "https://api.twilio.com/2010-04-01", "without a path"),
        ("smtp", "sender_email", "not-an-email", "Enter a valid email address"),
        ("smtp", "security", "ssl3", "Select a valid choice"),
        ("auth0", "audience", "http://acme/api/v2/", "API identifier"),
    ],
)
def test_other_bad_values_are_field_errors(admin_client, kind, field, value, message):
    response = create(admin_client, kind, **{field: value})
    assert response.status_code == 200
    assert f'id="id_{field}_error"'.encode() in response.content
    assert message.encode() in response.content


def test_the_edit_form_shows_a_secret_is_set_but_never_its_value(admin_client, three_connections):
    response = admin_client.get(f"/vault/{three_connections['auth0'].pk}/")
    html = response.content.decode()
    assert "A value is set and stays hidden" in html
    assert re.search(r'<input type="password" name="client_secret"[^>]*>', html)
    assert AUTH0_SECRET not in html


def test_leaving_a_secret_blank_keeps_it(admin_client, three_connections):
    connection = three_connections["auth0"]
    response = admin_client.post(
        f"/vault/{connection.pk}/", auth0_form(client_secret="", client_id="new-id")
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.credentials()["client_id"] == "new-id"
    assert connection.secrets()["client_secret"] == AUTH0_SECRET


def test_typing_a_new_secret_replaces_it(admin_client, three_connections):
    connection = three_connections["auth0"]
    admin_client.post(f"/vault/{connection.pk}/", auth0_form(client_secret="rotated-secret-1"))
    connection.refresh_from_db()
    assert connection.secrets()["client_secret"] == "rotated-secret-1"


def test_an_optional_secret_can_be_removed(admin_client, three_connections):
    connection = three_connections["smtp"]
    admin_client.post(
        f"/vault/{connection.pk}/", smtp_form(password="", username="", clear_password="on")
    )
    connection.refresh_from_db()
    assert connection.secrets() == {} and connection.secrets_set == []


def test_delete_asks_first_then_deletes(admin_client, three_connections):
    connection = three_connections["twilio"]
    assert (
        b"will be removed for good" in admin_client.get(f"/vault/{connection.pk}/delete/").content
    )
    assert admin_client.post(f"/vault/{connection.pk}/delete/").status_code == 302
    assert not Connection.objects.filter(pk=connection.pk).exists()


def test_delete_is_refused_while_flows_use_the_connection(
    admin_client, three_connections, admin_user
):
    connection = three_connections["auth0"]
    for name in ("Welcome new users", "Nightly cleanup"):
        flow = Flow.objects.create(name=name, owner=admin_user)
        ConnectionUse.objects.create(flow=flow, connection=connection)
    response = admin_client.post(f"/vault/{connection.pk}/delete/")
    assert response.status_code == 409
    assert b"cannot be deleted while these flows use it" in response.content
    assert b"Welcome new users" in response.content and b"Nightly cleanup" in response.content
    assert Connection.objects.filter(pk=connection.pk).exists()
    listing = admin_client.get("/vault/").content.decode()
    assert "Welcome new users, Nightly cleanup" in listing or (
        "Nightly cleanup, Welcome new users" in listing
    )


def test_the_database_refuses_to_delete_a_connection_in_use(three_connections, admin_user):
    from django.db.models import ProtectedError

    flow = Flow.objects.create(name="Uses it", owner=admin_user)
    ConnectionUse.objects.create(flow=flow, connection=three_connections["smtp"])
    with pytest.raises(ProtectedError):
        three_connections["smtp"].delete()


def test_staff_choose_the_providers(admin_client, three_connections):
    smtp, twilio = three_connections["smtp"], three_connections["twilio"]
    response = admin_client.post(
        "/vault/providers/", {"email": smtp.pk, "phone": twilio.pk}, follow=True
    )
    assert b"Saved the providers" in response.content
    assert Provider.objects.get(purpose="email").connection == smtp
    assert Provider.objects.get(purpose="phone").connection == twilio
    assert b"Email provider" in response.content


def test_a_provider_must_be_of_the_right_kind(admin_client, three_connections):
    response = admin_client.post(
        "/vault/providers/", {"email": three_connections["twilio"].pk}, follow=True
    )
    assert b"Choose an SMTP connection or the outbox for email" in response.content
    assert not Provider.objects.exists()


def test_deleting_the_email_provider_warns_first(admin_client, three_connections):
    smtp = three_connections["smtp"]
    admin_client.post("/vault/providers/", {"email": smtp.pk})
    assert b"It is the email provider" in admin_client.get(f"/vault/{smtp.pk}/delete/").content
    admin_client.post(f"/vault/{smtp.pk}/delete/")
    assert not Provider.objects.exists()


def test_key_rotation_reencrypts_every_secret(three_connections, settings, capsys):
    old_key = settings.VAULT_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.VAULT_KEYS = [new_key, old_key]
    call_command("rotate_vault_keys")
    assert f"Re-encrypted the secrets of {len(FORMS)} connection(s)." in capsys.readouterr().out
    settings.VAULT_KEYS = [new_key]
    assert Connection.objects.get(kind="auth0").secrets()["client_secret"] == AUTH0_SECRET


def test_a_secret_that_cannot_be_decrypted_is_a_clear_error(
    admin_client, three_connections, settings
):
    settings.VAULT_KEYS = [Fernet.generate_key().decode()]
    connection = three_connections["auth0"]
    response = admin_client.post(f"/vault/{connection.pk}/test/", follow=True)
    assert b"cannot be decrypted with the configured vault keys" in response.content
    page = admin_client.get(f"/vault/{connection.pk}/")
    assert page.status_code == 200
    response = admin_client.post(f"/vault/{connection.pk}/", auth0_form(client_secret=""))
    assert b"cannot be decrypted with the current vault keys; enter it again" in response.content
    response = admin_client.post(f"/vault/{connection.pk}/", auth0_form(client_secret="again"))
    assert response.status_code == 302


def test_save_and_test_puts_an_unreachable_host_on_its_field(admin_client, unused_port):
    response = admin_client.post(
        "/vault/new/?kind=auth0",
        {**auth0_form(domain=f"127.0.0.1:{unused_port}"), "then": "test"},
        follow=True,
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="id_domain_error"><li>Test failed: Could not reach 127\.0\.0\.1', html)
    assert f'value="127.0.0.1:{unused_port}"' in html
    connection = Connection.objects.get()
    assert connection.last_test_ok is False and connection.last_tested_at
    assert AUTH0_SECRET not in html


def test_the_test_button_answers_htmx_with_the_status_cell(admin_client, unused_port):
    create(admin_client, "twilio", api_base_url=f"http://127.0.0.1:{unused_port}")
    connection = Connection.objects.get()
    response = admin_client.post(f"/vault/{connection.pk}/test/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.strip().startswith(f'<div class="test-status" id="test-status-{connection.pk}"')
    assert "Failed" in html and "<html" not in html


def test_after_a_failed_test_on_create_the_browser_is_on_the_connection_s_page(
    admin_client, unused_port
):
    response = admin_client.post(
        "/vault/new/?kind=twilio",
        {**FORMS["twilio"](api_base_url=f"http://127.0.0.1:{unused_port}"), "then": "test"},
        follow=True,
    )
    connection = Connection.objects.get()
    assert response.redirect_chain == [(f"/vault/{connection.pk}/", 302)]
    assert f'action="/vault/{connection.pk}/"' in response.content.decode()
    assert b"The connection was saved, but its test failed" in response.content
    assert b'id="id_api_base_url_error"><li>Test failed: Could not reach' in response.content
    again = admin_client.get(f"/vault/{connection.pk}/").content
    assert b"The connection was saved, but its test failed" not in again
    assert b"Last test failed" in again


def test_no_log_line_carries_a_secret(admin_client, caplog, auth0_standin, twilio_standin):
    import base64
    import logging

    for name in ("", "httpx", "httpcore", "vault_app", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    admin_client.post(
        "/vault/new/?kind=auth0",
        {
            **auth0_form(
                domain=auth0_standin.domain,
                client_id=auth0_standin.client_id,
                client_secret=auth0_standin.client_secret,
            ),
            "then": "test",
        },
    )
    admin_client.post(
        "/vault/new/?kind=twilio",
        {
            **FORMS["twilio"](
                account_sid=twilio_standin.account_sid,
                auth_token=twilio_standin.auth_token,
                api_base_url=twilio_standin.base_url,
            ),
            "then": "test",
        },
    )
    for connection in Connection.objects.all():
        admin_client.post(f"/vault/{connection.pk}/test/")
    basic = base64.b64encode(
        f"{twilio_standin.account_sid}:{twilio_standin.auth_token}".encode()
    ).decode()
    assert Connection.objects.filter(last_test_ok=True).count() == 2
    assert "HTTP Request: POST" in caplog.text
    for secret in (auth0_standin.client_secret, twilio_standin.auth_token, basic):
        assert secret not in caplog.text


@pytest.mark.parametrize(
    "kind, field, value, message",
    [
        ("smtp", "sender_name", "Acme\r\nBcc: everyone@example.com", "control characters"),
        ("auth0", "name", "Two\nlines", "control characters"),
        ("auth0", "client_id", "x" * 300, "at most 255 characters"),
        ("twilio", "auth_token", "x" * 5000, "at most 4096 characters"),
        ("auth0", "name", "", "This field is required"),
    ],
)
def test_hostile_or_oversized_values_are_refused(admin_client, kind, field, value, message):
    response = create(admin_client, kind, **{field: value})
    assert response.status_code == 200
    assert f'id="id_{field}_error"'.encode() in response.content
    assert message.encode() in response.content
    assert not Connection.objects.exists()


def test_key_rotation_drops_cached_management_tokens(three_connections, settings, capsys):
    from django.utils import timezone

    from vault_app.crypto import seal
    from vault_app.models import ManagementToken

    ManagementToken.objects.create(
        connection=three_connections["auth0"],
        fingerprint="f",
        sealed_token=seal({"token": "t"}),
        use_until=timezone.now(),
    )
    settings.VAULT_KEYS = [Fernet.generate_key().decode(), *settings.VAULT_KEYS]
    call_command("rotate_vault_keys")
    assert not ManagementToken.objects.exists()


@pytest.mark.django_db
def test_a_connection_decrypts_once_and_reads_a_new_secret_at_once():
    connection = Connection(name="Mail", kind="smtp", config={"host": "smtp.example.com"})
    connection.set_secrets({"password": "first"})
    assert connection.secrets() == {"password": "first"}
    connection.secrets()["password"] = "changed by a caller"  # a copy: the memo stays right
    assert connection.secrets() == {"password": "first"}
    connection.set_secrets({"password": "second"})
    assert connection.secrets() == {"password": "second"}
    assert connection.credentials()["password"] == "second"
