"""Signing in and out, and what each role may open."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts_app.models import Role, User
from tests.conftest import PASSWORD

PAGES = ["/flows/", "/runs/", "/vault/", "/people/"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES + ["/vault/new/?kind=auth0"])
def test_every_page_asks_anonymous_visitors_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_signing_in_with_email_and_password(client, editor_user):
    response = client.post(
        "/login/", {"username": "EDDIE@example.com", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/flows/"
    assert b"Eddie" in response.content and b"Editor" in response.content


def test_a_wrong_password_is_refused_and_keeps_the_email(client, editor_user):
    response = client.post("/login/", {"username": "eddie@example.com", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct email address and password" in response.content
    assert b'value="eddie@example.com"' in response.content
    assert b"nope" not in response.content


def test_signing_out_needs_a_post(editor_client):
    assert editor_client.get("/logout/").status_code == 405
    assert editor_client.post("/logout/").status_code == 302
    assert editor_client.get("/flows/").status_code == 302


@pytest.mark.parametrize("persona", ["admin_client", "editor_client", "viewer_client"])
def test_everyone_reads_flows_and_runs(request, persona):
    client = request.getfixturevalue(persona)
    assert client.get("/flows/").status_code == 200
    assert client.get("/runs/").status_code == 200


@pytest.mark.parametrize("persona", ["editor_client", "viewer_client"])
def test_only_admins_see_the_vault_in_the_navigation(request, persona, admin_client):
    assert b'href="/vault/"' in admin_client.get("/flows/").content
    assert b'href="/vault/"' not in request.getfixturevalue(persona).get("/flows/").content


@pytest.mark.parametrize("persona", ["editor_client", "viewer_client"])
def test_people_page_is_for_admins(request, persona, admin_user):
    client = request.getfixturevalue(persona)
    assert client.get("/people/").status_code == 403
    assert client.post("/people/", {"email": "x@example.com"}).status_code == 403
    assert client.post(f"/people/{admin_user.pk}/", {"role": "viewer"}).status_code == 403
    assert User.objects.get(pk=admin_user.pk).role == Role.ADMIN


def test_an_admin_adds_a_person_with_a_role(admin_client, client):
    response = admin_client.post(
        "/people/",
        {
            "email": "New.Person@Example.com",
            "name": "New",
            "role": "editor",
            "password": "a sturdy passphrase 42",
        },
        follow=True,
    )
    assert b"can now sign in as Editor" in response.content
    person = User.objects.get(email="new.person@example.com")
    assert person.role == Role.EDITOR and person.can_edit_flows and not person.is_staff
    assert client.login(username="new.person@example.com", password="a sturdy passphrase 42")


def test_adding_a_person_twice_shows_an_error_and_keeps_the_input(admin_client, editor_user):
    response = admin_client.post(
        "/people/",
        {
            "email": "eddie@example.com",
            "name": "Second Eddie",
            "role": "viewer",
            "password": "123",
        },
    )
    assert response.status_code == 200
    assert b"already has an account" in response.content
    assert b'value="Second Eddie"' in response.content
    assert b"This password is too short" in response.content


def test_making_someone_admin_makes_them_staff(admin_client, viewer_user):
    admin_client.post(f"/people/{viewer_user.pk}/", {"role": "admin", "is_active": "on"})
    viewer_user.refresh_from_db()
    assert viewer_user.is_staff and viewer_user.role == Role.ADMIN


def test_an_admin_cannot_demote_themselves(admin_client, admin_user):
    response = admin_client.post(f"/people/{admin_user.pk}/", {"role": "viewer", "is_active": "on"})
    assert b"cannot remove your own admin role" in response.content
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN


def test_a_disabled_person_cannot_sign_in(admin_client, editor_user, client):
    admin_client.post(f"/people/{editor_user.pk}/", {"role": "editor"})
    assert not client.login(username="eddie@example.com", password=PASSWORD)


@pytest.mark.django_db
def test_adduser_prints_a_generated_password(capsys, client):
    call_command("adduser", "cli@example.com", "--role", "viewer")
    out = capsys.readouterr().out
    password = out.split("Password: ")[1].strip()
    assert client.login(username="cli@example.com", password=password)
    assert User.objects.get(email="cli@example.com").role == Role.VIEWER


@pytest.mark.django_db
def test_ensure_admin_creates_the_first_admin_once(capsys, monkeypatch, client):
    monkeypatch.setenv("SLUICE_ADMIN_EMAIL", "root@example.com")
    monkeypatch.setenv("SLUICE_ADMIN_PASSWORD", "given by the environment")
    call_command("ensure_admin")
    call_command("ensure_admin")
    out = capsys.readouterr().out
    assert "Created the first admin. Sign in as root@example.com" in out
    assert "given by the environment" not in out
    assert "Sign in as root@example.com (its password was set on first start" in out
    assert User.objects.filter(role=Role.ADMIN).count() == 1
    assert client.login(username="root@example.com", password="given by the environment")


@pytest.mark.django_db
def test_ensure_admin_prints_a_generated_password(capsys, monkeypatch, client):
    monkeypatch.delenv("SLUICE_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("SLUICE_ADMIN_PASSWORD", raising=False)
    call_command("ensure_admin")
    password = capsys.readouterr().out.rsplit("with password ", 1)[1].strip()
    assert client.login(username="admin@sluice.local", password=password)


def test_the_login_page_names_the_product(client, db):
    response = client.get(reverse("login"))
    assert b"Sign in to Sluice" in response.content


def test_a_person_changes_their_own_password(viewer_client, client):
    response = viewer_client.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
        follow=True,
    )
    assert b"Your password was changed" in response.content
    assert client.login(username="vera@example.com", password="a brand new passphrase")


def test_a_wrong_old_password_keeps_the_password(viewer_client, client):
    response = viewer_client.post(
        "/account/password/",
        {
            "old_password": "wrong",
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )
    assert b"Your old password was entered incorrectly" in response.content
    assert client.login(username="vera@example.com", password=PASSWORD)


def test_every_account_form_needs_the_csrf_token(csrf_admin_client, viewer_user):
    forms = [
        ("/people/", {"email": "x@example.com", "role": "admin", "password": "long enough 123"}),
        (f"/people/{viewer_user.pk}/", {"role": "admin", "is_active": "on"}),
        (
            "/account/password/",
            {
                "old_password": PASSWORD,
                "new_password1": "n3w passphrase!",
                "new_password2": "n3w passphrase!",
            },
        ),
        ("/logout/", {}),
    ]
    for url, data in forms:
        assert csrf_admin_client.post(url, data).status_code == 403, url
    viewer_user.refresh_from_db()
    assert viewer_user.role == Role.VIEWER
    assert User.objects.count() == 2


@pytest.mark.django_db
def test_signing_in_needs_the_csrf_token(viewer_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/login/", {"username": "vera@example.com", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.django_db
def test_an_htmx_request_without_a_session_sends_the_page_to_sign_in(client):
    response = client.get("/runs/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/login/?next=/runs/"
