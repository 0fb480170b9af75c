"""Verify email address through the engine, with MX lookups answered by a local DNS server."""

import pytest

from flows_app.models import Run
from flows_app.services import problems_of
from sluice import env
from tests.flow_helpers import run_steps
from tests.standins.dns import DnsStandin

ALL_RULES = {
    "require_mx_record": True,
    "block_free_emails": True,
    "block_disposable_emails": True,
    "block_aliases": True,
}


@pytest.fixture
def dns_server(settings):
    with DnsStandin() as server:
        settings.DNS_NAMESERVERS = [("127.0.0.1", server.port)]
        settings.DNS_TIMEOUT = 1
        server.mx["example.com"] = [(10, "mx1.example.com"), (20, "mx2.example.com")]
        server.mx["acme.test"] = [(10, "mail.acme.test")]
        server.mx["xn--bcher-kva.example"] = [(10, "mail.xn--bcher-kva.example")]
        server.mx["nomail.example"] = [(0, ".")]  # RFC 7505: accepts no mail
        server.hosts.add("web-only.example")
        yield server


def email_step(address="{{ fields.email }}", **rules) -> dict:
    params = {"email": address}
    if rules:
        params["rules"] = rules
    return {"id": "check", "type": "EMAIL", "action": "VERIFY_EMAIL", "params": params}


def verify(address: str, **rules) -> dict:
    run = run_steps(email_step(**rules), input={"fields": {"email": address}})
    assert run.status == Run.Status.SUCCEEDED, run.error
    return run.steps.get(step_id="check").output


def cause(address: str, **rules) -> str | None:
    return verify(address, **rules)["cause"]


def test_a_good_address_passes_every_rule_after_a_real_mx_lookup(db, dns_server):
    assert verify("jane.doe@example.com", **ALL_RULES) == {"valid": True, "cause": None}
    assert dns_server.questions == [("example.com", "MX")]


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("unknown.example", "MISSING_MX_RECORD"),  # NXDOMAIN
        ("web-only.example", "MISSING_MX_RECORD"),  # exists, no MX
        ("nomail.example", "MISSING_MX_RECORD"),  # null MX
        ("acme.test", None),
    ],
)
def test_the_mx_rule(db, dns_server, domain, expected):
    assert cause(f"sam@{domain}", require_mx_record=True) == expected


def test_without_the_mx_rule_no_lookup_is_made(db, dns_server):
    assert verify("sam@unknown.example") == {"valid": True, "cause": None}
    assert dns_server.questions == []


def test_a_dns_server_failure_fails_the_step_instead_of_judging(db, dns_server):
    dns_server.servfail.add("acme.test")
    run = run_steps(email_step(require_mx_record=True), input={"fields": {"email": "a@acme.test"}})
    assert run.status == Run.Status.FAILED
    assert "The DNS servers failed to answer for acme.test (SERVFAIL)" in run.error


def test_a_dns_server_that_never_answers_fails_the_step_after_the_timeout(db, dns_server):
    dns_server.silent = True
    run = run_steps(email_step(require_mx_record=True), input={"fields": {"email": "a@acme.test"}})
    assert run.status == Run.Status.FAILED
    assert "The DNS lookup of acme.test's MX records took longer than 1 s" in run.error
    assert ("acme.test", "MX") in dns_server.questions


def test_free_and_disposable_domains_come_from_the_maintained_lists(db):
    assert cause("jane@gmail.com", block_free_emails=True) == "FREE_EMAIL"
    assert cause("jane@Hotmail.com", block_free_emails=True) == "FREE_EMAIL"
    assert cause("jane@mailinator.com", block_disposable_emails=True) == "DISPOSABLE_EMAIL"
    assert cause("jane@maildrop.cc", block_disposable_emails=True) == "DISPOSABLE_EMAIL"
    # On both lists, a throwaway domain counts as disposable, not as a free provider.
    assert cause("jane@mailinator.com", block_free_emails=True) is None
    assert cause("jane@gmail.com", block_disposable_emails=True) is None


def test_aliases_are_a_plus_in_the_local_part(db):
    assert cause("jane.doe+news@acme.test", block_aliases=True) == "ALIAS_EMAIL"
    assert cause("jane.doe@acme.test", block_aliases=True) is None
    assert cause("jane.doe+news@acme.test") is None


def test_block_and_allow_lists_match_whole_domains_in_any_case(db):
    lists = {"blocklist": ["@Competitor.com"], "allowlist": ["*.acme.test", "example.com"]}
    assert cause("x@competitor.com", **lists) == "BLOCKLISTED"
    assert cause("x@COMPETITOR.COM", **lists) == "BLOCKLISTED"
    assert cause("x@acme.test", **lists) is None
    assert cause("x@eu.acme.test", **lists) == "NOT_ALLOWED"  # subdomains do not match
    assert cause("x@other.test", **lists) == "NOT_ALLOWED"
    assert cause("x@other.test", allowlist=[]) is None  # an empty allowlist allows all


def test_the_first_failed_rule_is_the_cause_and_the_network_is_asked_last(db, dns_server):
    rules = {**ALL_RULES, "blocklist": ["mailinator.com"], "allowlist": ["mailinator.com"]}
    assert cause("a+b@mailinator.com", **rules) == "BLOCKLISTED"
    rules["blocklist"] = []
    assert cause("a+b@mailinator.com", **rules) == "ALIAS_EMAIL"
    assert cause("ab@mailinator.com", **rules) == "DISPOSABLE_EMAIL"
    assert cause("ab@gmail.com", **{**ALL_RULES, "allowlist": ["example.com"]}) == "NOT_ALLOWED"
    assert dns_server.questions == []
    assert cause("ab@unknown.example", **ALL_RULES) == "MISSING_MX_RECORD"


@pytest.mark.parametrize(
    "address",
    [
        "not-an-email",
        "@example.com",
        "jane@",
        "jane@localhost",
        "a..b@example.com",
        "jane doe@example.com",
        ".jane@example.com",
        "jane@exa_mple.com",
        "jane@-example.com",
        "jane@example.123",
        "x" * 65 + "@example.com",
    ],
)
def test_bad_syntax_is_invalid_email_before_any_rule(db, dns_server, address):
    assert verify(address, **ALL_RULES) == {"valid": False, "cause": "INVALID_EMAIL"}
    assert dns_server.questions == []


def test_an_international_domain_is_looked_up_in_its_ascii_form(db, dns_server):
    assert cause("leser@Bücher.example", require_mx_record=True) is None
    assert dns_server.questions == [("xn--bcher-kva.example", "MX")]


def test_an_empty_address_fails_the_step_saying_so(db):
    run = run_steps(email_step(), input={"fields": {}})
    assert run.status == Run.Status.FAILED
    assert "Email rendered empty" in run.error


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"block_everything": True}, "Unknown setting 'block_everything'"),
        ({"block_aliases": "yes"}, "must be true or false"),
        ({"allowlist": "acme.test"}, "must be a list of text"),
        ({"blocklist": ["not a domain"]}, "'not a domain' in the blocklist is not a domain"),
    ],
)
def test_bad_rules_are_problems_on_save(db, rules, message):
    definition = {"actions": [email_step("x@acme.test", **rules)]}
    assert any(message in p.message for p in problems_of(definition)), problems_of(definition)


def test_the_nameserver_setting_reads_addresses_and_ports():
    read = env.nameservers
    assert read("X", {"X": "9.9.9.9, 127.0.0.1:5353,[::1]:53"}) == [
        ("9.9.9.9", 53),
        ("127.0.0.1", 5353),
        ("::1", 53),
    ]
    assert read("X", {}) == []
    with pytest.raises(env.SettingError, match="'dns.example' is not an IP address"):
        read("X", {"X": "dns.example"})
    with pytest.raises(env.SettingError, match="has no valid port"):
        read("X", {"X": "127.0.0.1:99999"})
