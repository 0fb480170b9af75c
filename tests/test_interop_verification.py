"""A flow in Auth0's JSON that uses the JWT, OTP, EMAIL and TWILIO actions imports as steps
that run, runs against the stand-ins, and exports byte for byte as it came."""

import copy
import json
from pathlib import Path

import pytest

from flows_app import interop
from flows_app.models import Run
from flows_app.services import problems_of, publish_flow
from tests.flow_helpers import connection
from tests.standins.dns import DnsStandin
from tests.test_interop import run_to_end

PATH = Path(__file__).parent / "corpus" / "auth0" / "flows" / "email-code-signup.json"
INPUT = {
    "context": {"user": {"user_id": "auth0|42"}},
    "fields": {"email": "sam@acme.test", "phone": "+15551234567", "name": "Sam & Co"},
}


@pytest.fixture
def vault(db, twilio_standin, settings):
    """The vault as the flow names it, the Twilio account owning the flow's From number,
    and a DNS server that knows acme.test's mail servers."""
    account = twilio_standin.add_account("Marketing", numbers={"+18005550175"})
    credentials = twilio_standin.credentials(
        account_sid=account.sid, auth_token=account.auth_token, from_number="+18005550175"
    )
    connection("twilio", "Twilio marketing", credentials)
    connection("jwt", "Invite keys", {"algorithm": "HS256", "secret": "k" * 32})
    with DnsStandin() as dns_server:
        dns_server.mx["acme.test"] = [(10, "mail.acme.test")]
        settings.DNS_NAMESERVERS = [("127.0.0.1", dns_server.port)]
        yield twilio_standin


def import_flow():
    [flow] = interop.import_documents(interop.read_path(PATH)).flows
    return flow


def test_the_flow_imports_as_runnable_steps_and_publishes(vault):
    report = interop.import_documents(interop.read_path(PATH))
    assert report.unsupported == [] and report.placeholders == []
    [flow] = report.flows
    assert problems_of(flow.draft) == []
    assert publish_flow(flow).number == 1


def test_the_flow_runs_against_the_stand_ins(vault):
    run = run_to_end(import_flow(), INPUT)
    assert run.status == Run.Status.SUCCEEDED, run.error
    assert run.result == {"otp": "VALID", "invite": True, "email": "sam@acme.test", "sms": "queued"}
    [sms] = vault.messages
    code = sms["body"].removeprefix("Your code is ")
    assert len(code) == 6 and code.isdigit()
    [call] = vault.calls
    assert (
        call["twiml"] == f"<Response><Say>Hello Sam &amp; Co, your code is {code}</Say></Response>"
    )
    records = {r.step_id: r for r in run.steps.all()}
    assert records["generate_otp"].output == "[redacted]"  # mask_output, as the file says
    assert records["sms_code"].inputs["message"] == "Your code is [redacted]"
    assert code not in json.dumps([[r.inputs, r.output] for r in records.values()])


def test_an_address_the_rules_refuse_takes_the_else_branch(vault):
    data = copy.deepcopy(INPUT)
    data["fields"]["email"] = "sam+promo@acme.test"
    run = run_to_end(import_flow(), data)
    assert run.status == Run.Status.FAILED
    assert run.error.endswith("This address cannot sign up (ALIAS_EMAIL).")
    assert vault.messages == []


def test_the_flow_exports_byte_for_byte_and_fits_auth0_s_schema(vault):
    exported = interop.export_document(import_flow(), format=interop.AUTH0)
    assert interop.dump(exported) == PATH.read_text()
    assert interop.schema_problems(exported) == []


@pytest.mark.parametrize(
    ("step_id", "key", "value", "problem"),
    [
        (
            "generate_otp",
            "length",
            "6",
            "actions/1/params/then/0/params/length: '6' is not of type",
        ),
        ("sms_code", "extra", 1, "Additional properties are not allowed ('extra' was unexpected)"),
        ("verify_invite", "token", "x" * 101, "is too long"),
    ],
)
def test_the_schema_holds_the_new_actions_to_auth0_s_params(step_id, key, value, problem):
    document = json.loads(PATH.read_text())
    then = document["actions"][1]["params"]["then"]
    next(s for s in then if s["id"] == step_id)["params"][key] = value
    assert any(problem in p for p in interop.schema_problems(document))
