"""One-time passwords through the engine: Generate and Verify share a store across flows;
codes are random, hashed, expire, are used once, allow 5 wrong tries, and stay out of run
records."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from flows_app import otp, retention
from flows_app.actions import ACTION_TYPES
from flows_app.drafts import new_step
from flows_app.models import OneTimeCode, Run
from flows_app.services import problems_of
from tests.flow_helpers import phone_provider, run_steps, step


def generate(reference="{{ fields.email }}", length=6, mask=False, step_id="gen") -> dict:
    data = {
        "id": step_id,
        "type": "OTP",
        "action": "GENERATE_CODE",
        "params": {"reference": reference, "length": length},
    }
    if mask:
        data["mask_output"] = True
    return data


def verify_step(code="{{ fields.code }}", reference="{{ fields.email }}", step_id="check") -> dict:
    return {
        "id": step_id,
        "type": "OTP",
        "action": "VERIFY_CODE",
        "params": {"reference": reference, "code": code},
    }


def new_code(email="sam@example.com", length=6) -> str:
    """A code made by a run of its own, read from that run's unmasked Generate output."""
    run = run_steps(generate(length=length), input={"fields": {"email": email}})
    assert run.status == Run.Status.SUCCEEDED, run.error
    return run.steps.get(step_id="gen").output["code"]


def check(code, email="sam@example.com") -> dict:
    run = run_steps(verify_step(), input={"fields": {"email": email, "code": code}})
    assert run.status == Run.Status.SUCCEEDED, run.error
    return run.steps.get(step_id="check").output


def test_a_code_made_in_one_flow_verifies_once_in_another(db):
    code = new_code()
    assert len(code) == 6 and code.isdigit()
    assert check(code) == {"valid": True, "result": "VALID"}
    assert check(code) == {"valid": False, "result": "MISSING"}  # single use


def test_a_code_is_bound_to_its_reference(db):
    code = new_code("sam@example.com")
    assert check(code, email="other@example.com") == {"valid": False, "result": "MISSING"}
    assert check(code, email="sam@example.com")["result"] == "VALID"


def test_a_new_code_replaces_the_earlier_one(db):
    first = new_code()
    second = new_code()
    if first != second:
        assert check(first)["result"] == "UNEQUAL"
    assert check(second)["result"] == "VALID"


def test_a_code_expires_after_five_minutes(db):
    code = new_code()
    entry = OneTimeCode.objects.get()
    assert (
        timedelta(minutes=4, seconds=50) < entry.expires_at - timezone.now() <= timedelta(minutes=5)
    )
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert check(code) == {"valid": False, "result": "EXPIRED"}
    assert check(code)["result"] == "MISSING"


def test_the_fifth_wrong_code_ends_the_code(db):
    code = new_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    results = [check(wrong)["result"] for _ in range(5)]
    assert results == ["UNEQUAL"] * 5
    assert check(code) == {"valid": False, "result": "MISSING"}


def test_four_wrong_codes_still_leave_the_right_one_valid(db):
    code = new_code()
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(4):
        check(wrong)
    assert check(code)["result"] == "VALID"


def test_a_code_given_as_a_json_number_gets_its_leading_zeros_back(db, monkeypatch):
    monkeypatch.setattr(otp.secrets, "randbelow", lambda upper: 48213)
    assert new_code() == "048213"
    assert check(48213) == {"valid": True, "result": "VALID"}
    monkeypatch.undo()
    code = new_code()
    run = run_steps(verify_step(code=int(code)), input={"fields": {"email": "sam@example.com"}})
    assert run.steps.get(step_id="check").output["result"] == "VALID"


def test_codes_are_random_digits_of_the_asked_length_and_stored_only_hashed(db):
    codes = {otp.generate(f"ref-{i}", 8) for i in range(40)}
    assert all(len(c) == 8 and c.isdigit() for c in codes)
    assert len(codes) > 35  # 40 draws of 10**8 values: repeats would mean no randomness
    stored = json.dumps(list(OneTimeCode.objects.values()), default=str)
    assert not any(code in stored for code in codes)
    assert "ref-1" not in stored  # the reference is kept as a keyed hash too


def test_retention_prunes_expired_codes_only(db):
    otp.generate("old", 4)
    otp.generate("new", 4)
    OneTimeCode.objects.filter(pk=OneTimeCode.objects.order_by("pk").first().pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    retention.prune()
    assert OneTimeCode.objects.count() == 1


# Codes stay out of run records -----------------------------------------------------------


def records_text(run: Run) -> str:
    fields = ("inputs", "output", "error", "error_body", "detail", "vars", "warnings")
    rows = list(run.steps.values(*fields))
    return json.dumps([rows, run.result, run.error])


@pytest.mark.parametrize("length", [6, 2])
def test_the_code_shows_only_as_the_generate_step_s_own_unmasked_output(db, twilio_standin, length):
    phone_provider(twilio_standin)
    run = run_steps(
        generate(length=length),
        step("sms", "SEND_SMS", to="{{ fields.phone }}", message="Code: {{ actions.gen.code }}."),
        verify_step(code="{{ actions.gen.code }}"),
        {
            "id": "keep",
            "type": "FLOW",
            "action": "STORE_VARS",
            "params": {"vars": {"copy": "{{ actions.gen.code }}"}},
        },
        {
            "id": "out",
            "type": "FLOW",
            "action": "RETURN_JSON",
            "params": {"payload": {"code": "{{ actions.gen.code }}"}},
        },
        input={"fields": {"email": "sam@example.com", "phone": "+15005550009"}},
    )
    assert run.status == Run.Status.SUCCEEDED, run.error
    [sms] = twilio_standin.messages
    code = sms["body"].removeprefix("Code: ").removesuffix(".")
    assert len(code) == length and code.isdigit()
    assert run.steps.get(step_id="gen").output == {"code": code}
    others = run.steps.exclude(step_id="gen")
    assert run.steps.get(step_id="sms").inputs["message"] == "Code: [redacted]."
    assert run.steps.get(step_id="check").inputs["code"] == "[redacted]"
    assert run.steps.get(step_id="check").output == {"valid": True, "result": "VALID"}
    assert run.result == {"code": "[redacted]"}
    assert run.steps.get(step_id="keep").vars == {"copy": "[redacted]"}
    for record in others:
        text = json.dumps([record.inputs, record.output, record.vars])
        assert f'"{code}"' not in text and f" {code}." not in text


def test_a_masked_generate_step_shows_the_code_nowhere(db):
    run = run_steps(
        generate(mask=True),
        {
            "id": "out",
            "type": "FLOW",
            "action": "RETURN_JSON",
            "params": {"payload": {"code": "{{ actions.gen.code }}"}},
        },
        input={"fields": {"email": "sam@example.com"}},
    )
    assert run.steps.get(step_id="gen").output == "[redacted]"
    assert run.result == {"code": "[redacted]"}


def test_a_typed_code_is_redacted_in_the_verify_step_and_after(db):
    code = new_code()
    run = run_steps(
        verify_step(),
        {
            "id": "stop",
            "type": "FLOW",
            "action": "ERROR_MESSAGE",
            "params": {"message": "You typed {{ fields.code }}"},
        },
        input={"fields": {"email": "sam@example.com", "code": code}},
    )
    assert run.steps.get(step_id="check").inputs == {
        "reference": "sam@example.com",
        "code": "[redacted]",
    }
    assert run.error == "Step stop (Show error message) failed: You typed [redacted]"
    assert code not in records_text(run)


# Bad input --------------------------------------------------------------------------------


def test_an_empty_reference_or_code_fails_the_step_saying_which(db):
    run = run_steps(generate(reference="{{ fields.missing }}"))
    assert run.status == Run.Status.FAILED
    assert "Reference value rendered empty" in run.error
    run = run_steps(verify_step(code="{{ fields.nothing }}"), input={"fields": {"email": "a"}})
    assert "Code value rendered empty" in run.error


def test_a_code_for_an_unknown_reference_is_missing_not_a_crash(db):
    assert check("123456", email="nobody@example.com") == {"valid": False, "result": "MISSING"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"reference": "x", "length": 0}, "A whole number from 1 to 10"),
        ({"reference": "x", "length": 11}, "A whole number from 1 to 10"),
        ({"reference": "x", "length": "6"}, "a JSON number, not text"),
        ({"reference": "x"}, "Required."),
    ],
)
def test_the_code_length_is_checked_on_save(db, params, message):
    definition = {
        "actions": [{"id": "g", "type": "OTP", "action": "GENERATE_CODE", "params": params}]
    }
    assert any(message in p.message for p in problems_of(definition))


def test_a_new_generate_step_starts_masked_with_six_digits():
    made = new_step(ACTION_TYPES["OTP/GENERATE_CODE"], set())
    assert made["mask_output"] is True and made["params"] == {"length": 6}


def test_simultaneous_checks_of_the_right_code_use_it_once(transactional_db):
    from tests.test_auth0_client import _in_threads

    code = otp.generate("race@example.com", 6)
    results = _in_threads(6, lambda: otp.verify("race@example.com", code))
    assert sorted(map(str, results)) == ["MISSING"] * 5 + ["VALID"]
