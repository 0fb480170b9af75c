"""One-time codes: made at random, kept only as keyed hashes, checked once.

A code belongs to a reference (whatever a flow binds it to: an email, a phone number) across
every flow and run, so a form's "send code" flow and its "check code" flow share it. A new
code for a reference replaces the old one. Verifying gives one of Auth0's results:
``MISSING`` (no code for the reference), ``EXPIRED``, ``VALID`` (the code is then used up) or
``UNEQUAL``; the fifth ``UNEQUAL`` deletes the code, so guessing stops there.
"""

import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac

from flows_app.models import OneTimeCode

LIFETIME = timedelta(minutes=5)
MAX_ATTEMPTS = 5
LONGEST = 10
MISSING, EXPIRED, VALID, UNEQUAL = "MISSING", "EXPIRED", "VALID", "UNEQUAL"


def generate(reference: str, length: int) -> str:
    """Make a code of ``length`` random digits for ``reference``, replacing any earlier one."""
    if not 1 <= length <= LONGEST:
        raise ValueError(f"A code has 1 to {LONGEST} digits, not {length}.")
    code = f"{secrets.randbelow(10**length):0{length}d}"
    key = _reference_key(reference)
    OneTimeCode.objects.update_or_create(
        reference_key=key,
        defaults={
            "code_hash": _code_hash(key, code),
            "length": length,
            "attempts": 0,
            "expires_at": timezone.now() + LIFETIME,
        },
    )
    return code


def verify(reference: str, code: str | int) -> str:
    """Check ``code`` for ``reference``; return MISSING, EXPIRED, VALID or UNEQUAL."""
    key = _reference_key(reference)
    with transaction.atomic():
        entry = OneTimeCode.objects.select_for_update().filter(reference_key=key).first()
        if entry is None:
            return MISSING
        if entry.expires_at <= timezone.now():
            entry.delete()
            return EXPIRED
        given = _code_hash(key, as_code(code, entry.length))
        if hmac.compare_digest(given, entry.code_hash):
            # Deleting the very row read makes a second, simultaneous check see MISSING.
            used, _ = OneTimeCode.objects.filter(pk=entry.pk, code_hash=entry.code_hash).delete()
            return VALID if used else MISSING
        OneTimeCode.objects.filter(pk=entry.pk).update(attempts=F("attempts") + 1)
        OneTimeCode.objects.filter(pk=entry.pk, attempts__gte=MAX_ATTEMPTS).delete()
        return UNEQUAL


def as_code(value: str | int, length: int) -> str:
    """The code as text; a JSON number lost its leading zeros, so they are put back."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return f"{value:0{length}d}"
    return str(value).strip()


def prune_expired() -> int:
    """Delete the codes past their expiry; return how many."""
    deleted, _ = OneTimeCode.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


def _reference_key(reference: str) -> str:
    return salted_hmac("sluice.otp.reference", reference, algorithm="sha256").hexdigest()


def _code_hash(reference_key: str, code: str) -> str:
    return salted_hmac("sluice.otp.code", f"{reference_key}:{code}", algorithm="sha256").hexdigest()
