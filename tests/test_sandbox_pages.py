"""The Sandbox pages: everyone reads a tenant's users, editors add, edit and delete them with
the Management API's rules, admins add tenants and set their rate limit; and the API beside
the pages stays outside the sign-in and CSRF checks, behind its own tokens."""

import json

import pytest

from sandbox_app import users
from sandbox_app.models import SandboxTenant, SandboxUser
from vault_app.models import Connection


@pytest.fixture
def tenant(db):
    return SandboxTenant.objects.create(slug="acme", name="Acme sandbox")


@pytest.fixture
def ada(tenant):
    fields = {
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "phone_number": "+14155550100",
        "app_metadata": {"plan": "pro", "seats": 3},
    }
    return users.add_sample(tenant, fields)


def form(**changes) -> dict:
    data = {
        "email": "grace@example.com",
        "name": "Grace Hopper",
        "given_name": "Grace",
        "phone_number": "",
        "app_metadata": '{"plan": "free"}',
        "user_metadata": "",
    }
    return {k: v for k, v in {**data, **changes}.items() if v is not None}


def test_everyone_signed_in_reads_the_users(viewer_client, ada):
    listing = viewer_client.get("/sandbox/")
    page = viewer_client.get("/sandbox/acme/")

    assert b"Acme sandbox" in listing.content
    assert ada["user_id"].encode() in page.content
    assert b"plan: pro" in page.content
    assert b"Add a user" not in page.content


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/sandbox/acme/users/new/"),
        ("post", "/sandbox/acme/users/new/"),
        ("get", "/sandbox/acme/users/{pk}/"),
        ("post", "/sandbox/acme/users/{pk}/delete/"),
    ],
)
def test_viewers_cannot_change_users(viewer_client, ada, method, path):
    pk = SandboxUser.objects.get().pk

    response = getattr(viewer_client, method)(path.format(pk=pk), form())

    assert response.status_code == 403
    assert SandboxUser.objects.get().profile == ada


def test_an_editor_adds_a_user_as_the_api_would_create_it(editor_client, tenant):
    response = editor_client.post("/sandbox/acme/users/new/", form(email="Grace@Example.com"))

    assert response.status_code == 302
    user = SandboxUser.objects.get()
    assert user.user_id.startswith("auth0|")
    assert user.profile["email"] == "grace@example.com"
    assert user.profile["app_metadata"] == {"plan": "free"}
    assert user.profile["identities"][0]["connection"] == "Username-Password-Authentication"
    assert "phone_number" not in user.profile
    assert users.get(tenant, user.user_id) == user.profile


def test_bad_json_is_an_error_on_its_field_and_keeps_what_was_typed(editor_client, tenant):
    typed = '{"plan": "pro",}'

    response = editor_client.post("/sandbox/acme/users/new/", form(app_metadata=typed))

    assert response.status_code == 400
    assert "This is not JSON" in response.content.decode()
    assert typed in response.content.decode().replace("&quot;", '"')
    assert not SandboxUser.objects.exists()


def test_a_duplicate_email_is_refused_on_the_email_field(editor_client, ada):
    response = editor_client.post("/sandbox/acme/users/new/", form(email="ADA@example.com"))

    assert response.status_code == 400
    assert "The user already exists." in response.content.decode()
    assert SandboxUser.objects.count() == 1


def test_editing_replaces_metadata_and_clears_what_was_emptied(editor_client, ada):
    pk = SandboxUser.objects.get().pk
    page = editor_client.get(f"/sandbox/acme/users/{pk}/")

    response = editor_client.post(
        f"/sandbox/acme/users/{pk}/",
        form(email="ada@example.com", name="Ada", app_metadata='{"plan": "free"}'),
    )

    assert '"seats": 3' in page.content.decode().replace("&quot;", '"')
    assert response.status_code == 302
    profile = SandboxUser.objects.get().profile
    assert profile["app_metadata"] == {"plan": "free"}
    assert "phone_number" not in profile
    assert (profile["user_id"], profile["created_at"]) == (ada["user_id"], ada["created_at"])
    assert profile["updated_at"] >= ada["updated_at"]


def test_editing_into_another_users_email_is_refused(editor_client, ada, tenant):
    users.add_sample(tenant, {"email": "grace@example.com", "name": "Grace"})
    pk = SandboxUser.objects.get(email="grace@example.com").pk

    response = editor_client.post(f"/sandbox/acme/users/{pk}/", form(email="ada@example.com"))

    assert response.status_code == 400
    assert "The user already exists." in response.content.decode()
    assert SandboxUser.objects.get(pk=pk).profile["email"] == "grace@example.com"


def test_delete_asks_first_then_deletes(editor_client, ada):
    pk = SandboxUser.objects.get().pk

    asked = editor_client.get(f"/sandbox/acme/users/{pk}/delete/")
    deleted = editor_client.post(f"/sandbox/acme/users/{pk}/delete/")

    assert b"Delete ada@example.com?" in asked.content
    assert SandboxUser.objects.filter(pk=pk).exists() is False
    assert deleted.status_code == 302


def test_an_admin_adds_a_tenant_and_an_editor_may_not(admin_client, editor_client, db):
    refused = editor_client.post("/sandbox/", {"name": "Staging", "slug": "staging"})
    bad = admin_client.post("/sandbox/", {"name": "Staging", "slug": "Not a slug!"})
    added = admin_client.post("/sandbox/", {"name": "Staging", "slug": "staging"})

    assert refused.status_code == 403
    assert bad.status_code == 400
    assert "Lower-case letters, digits and hyphens" in bad.content.decode()
    assert added.status_code == 302 and added["Location"] == "/sandbox/staging/"
    assert list(SandboxTenant.objects.values_list("slug", flat=True)) == ["staging"]


def test_an_admin_sets_the_rate_limit_within_bounds(admin_client, editor_client, tenant):
    refused = editor_client.post("/sandbox/acme/settings/", {"rate_limit": 5})
    out_of_bounds = admin_client.post("/sandbox/acme/settings/", {"rate_limit": 0})
    saved = admin_client.post("/sandbox/acme/settings/", {"rate_limit": 5})

    assert refused.status_code == 403
    assert out_of_bounds.status_code == 400
    assert saved.status_code == 302
    assert SandboxTenant.objects.get().rate_limit == 5


def test_the_pages_need_a_sign_in_and_the_api_answers_with_its_own_401(client, tenant):
    page = client.get("/sandbox/acme/")
    api = client.get("/sandbox/acme/api/v2/users")

    assert page.status_code == 302 and page["Location"].startswith("/login/")
    assert api.status_code == 401
    assert api.json() == {
        "statusCode": 401,
        "error": "Unauthorized",
        "message": "Missing authentication",
    }


def test_the_forms_need_csrf_and_the_api_does_not(csrf_admin_client, tenant):
    page_form = csrf_admin_client.post("/sandbox/", {"name": "Staging", "slug": "staging"})
    token_request = csrf_admin_client.post(
        "/sandbox/acme/oauth/token",
        json.dumps({"grant_type": "client_credentials"}),
        content_type="application/json",
    )

    assert page_form.status_code == 403
    assert token_request.status_code == 400
    assert token_request.json()["error_description"] == "Missing required parameter: client_id"


@pytest.mark.parametrize(
    ("tenant_id", "message"),
    [
        ("127.0.0.1:8000", "lower-case letters, digits and hyphens"),
        ("../acme", "lower-case letters, digits and hyphens"),
        ("acme/api", "lower-case letters, digits and hyphens"),
        ("", "This field is required"),
    ],
)
def test_a_sandbox_connection_names_a_tenant_and_nothing_else(admin_client, tenant_id, message):
    response = admin_client.post(
        "/vault/new/?kind=sandbox", {"name": "Sandbox", "tenant": tenant_id, "then": "list"}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Connection.objects.exists()


def test_an_admin_adds_a_sandbox_connection_with_nothing_secret(admin_client, tenant):
    response = admin_client.post(
        "/vault/new/?kind=sandbox", {"name": "Sandbox", "tenant": " Acme ", "then": "list"}
    )

    assert response.status_code == 302
    connection = Connection.objects.get()
    assert (connection.kind, connection.config, connection.secrets_set) == (
        "sandbox",
        {"tenant": "acme"},
        [],
    )
