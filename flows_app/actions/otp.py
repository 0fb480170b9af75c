"""One-time password actions (Auth0's ``type: "OTP"``): Generate and Verify.

The codes live in Sluice's own store (``flows_app.otp``), hashed. A code never shows in run
history except as the output of the Generate step that made it when that step's output is
not masked (new Generate steps start masked); the engine hides it everywhere else
(``extra["secrets"]`` names it, and Verify's ``code`` input is ``secret``).
"""

from collections.abc import Iterator
from typing import Any

from flows_app import otp
from flows_app.actions.base import (
    NUMBER,
    TEMPLATE_OR_NUMBER,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)

TYPE = "OTP"
GROUP = "Verification"
LONGEST_CODE_INPUT = 9_999_999_999
REFERENCE = Input(
    "reference",
    "Reference value",
    required=True,
    max_length=250,
    help="What the code is bound to, such as {{ fields.email }}. Verify with the same value.",
)


def _reference(inputs: dict[str, Any]) -> str:
    reference = inputs.get("reference")
    reference = "" if reference is None else str(reference)
    if not reference.strip():
        raise StepFailed("Reference value rendered empty; check the template and the test data.")
    return reference


def generate_code(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    length = inputs.get("length")
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= otp.LONGEST:
        raise StepFailed(f"Code length must be a whole number from 1 to {otp.LONGEST}.")
    return StepOutcome({"code": otp.generate(_reference(inputs), length)})


def verify_code(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    code = inputs.get("code")
    if code is None or (isinstance(code, str) and not code.strip()):
        raise StepFailed("Code value rendered empty; check the template and the test data.")
    if isinstance(code, dict | list | bool | float):
        raise StepFailed(f"Code value must be text or a whole number, got {type(code).__name__}.")
    result = otp.verify(_reference(inputs), code)
    return StepOutcome({"valid": result == otp.VALID, "result": result})


def _check_length(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    length = params.get("length")
    if length is None:
        return
    if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= otp.LONGEST:
        yield "length", f"A whole number from 1 to {otp.LONGEST} (a JSON number, not text)."


def _check_code(params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    code = params.get("code")
    if isinstance(code, int) and not isinstance(code, bool) and not 0 <= code <= LONGEST_CODE_INPUT:
        yield "code", f"A code given as a number is from 0 to {LONGEST_CODE_INPUT}."


GENERATE_CODE = ActionType(
    type=TYPE,
    action="GENERATE_CODE",
    group=GROUP,
    label="Generate one-time password",
    description="Make a random numeric code, valid for 5 minutes, for a reference value.",
    inputs=(
        REFERENCE,
        Input(
            "length",
            "Code length",
            kind=NUMBER,
            required=True,
            default=6,
            help=f"How many digits, 1 to {otp.LONGEST}. A new code replaces the reference's "
            "earlier one.",
        ),
    ),
    output='{"code"}: the code as text, such as "048213": {{ actions.<id>.code }}. Hidden in '
    "run history, except in this step's own output when Mask output is off.",
    output_fields=(
        OutputField(
            "code", "The code as text, such as 048213 (hidden in run history unless shown here)."
        ),
    ),
    run=generate_code,
    extra={
        "check": _check_length,
        "secrets": lambda output: [output.get("code")] if isinstance(output, dict) else [],
        "mask_output": True,
    },
)
VERIFY_CODE = ActionType(
    type=TYPE,
    action="VERIFY_CODE",
    group=GROUP,
    label="Verify one-time password",
    description="Check a code against the one generated for the same reference value.",
    inputs=(
        REFERENCE,
        Input(
            "code",
            "Code value",
            kind=TEMPLATE_OR_NUMBER,
            required=True,
            max_length=250,
            secret=True,
            help="The code the person entered, such as {{ fields.otp_code }}. Shown as "
            "[redacted] in run history.",
        ),
    ),
    output='{"valid", "result"}: result is VALID (the code is used up), UNEQUAL, EXPIRED or '
    "MISSING (no code for this reference; also after 5 wrong codes).",
    output_fields=(
        OutputField("valid", "Whether the code was right (true/false)."),
        OutputField("result", "VALID (the code is used up), UNEQUAL, EXPIRED or MISSING."),
    ),
    run=verify_code,
    extra={"check": _check_code},
)

ACTIONS = (GENERATE_CODE, VERIFY_CODE)
