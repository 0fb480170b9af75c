"""JSON and XML steps through the engine: Auth0's examples give Auth0's outputs, the
conventions for lists, attributes and text hold both ways, and bad input or hostile XML
fails the step with a clear message."""

import pytest

from flows_app.models import Run
from tests.flow_helpers import run_steps
from tests.http_helpers import data_step, http_step

DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def output_of(*steps, input=None):
    run = run_steps(*steps, input=input)
    assert run.status == Run.Status.SUCCEEDED, run.error
    return run.steps.get(step_id=steps[-1]["id"]).output


def failure_of(*steps, input=None):
    run = run_steps(*steps, input=input)
    assert run.status == Run.Status.FAILED
    return run.steps.get(step_id=steps[-1]["id"])


def test_create_json_renders_values_at_every_depth_keeping_types(db):
    step = data_step(
        "build_profile",
        "JSON",
        "CREATE_JSON",
        object={
            "name": "{{ fields.name }}",
            "plan": "{{ vars.plan }}",
            "tags": ["beta", "{{ fields.count }}"],
            "deep": {"count": "{{ fields.count }}", "text": "n={{ fields.count }}"},
        },
    )
    data = {"fields": {"name": "Jane Doe", "count": 3}, "vars": {"plan": "pro"}}
    assert output_of(step, input=data) == {
        "result": {
            "name": "Jane Doe",
            "plan": "pro",
            "tags": ["beta", 3],
            "deep": {"count": 3, "text": "n=3"},
        }
    }


def test_parse_json_parses_text_and_passes_an_object_through(db):
    text = data_step("p", "JSON", "PARSE_JSON", json='{"role":"admin","teams":[3,7]}')
    assert output_of(text) == {"object": {"role": "admin", "teams": [3, 7]}}
    listed = data_step("p", "JSON", "PARSE_JSON", json="[1, 2]")
    assert output_of(listed) == {"object": [1, 2]}
    passed = data_step("p", "JSON", "PARSE_JSON", json="{{ fields.claims }}")
    assert output_of(passed, input={"fields": {"claims": {"a": 1}}}) == {"object": {"a": 1}}
    rendered = data_step("p", "JSON", "PARSE_JSON", json='{"n": {{ fields.n }}}')
    assert output_of(rendered, input={"fields": {"n": 5}}) == {"object": {"n": 5}}


def test_invalid_json_fails_the_step_saying_where(db):
    record = failure_of(data_step("p", "JSON", "PARSE_JSON", json='{"role": admin}'))
    assert record.error == (
        "JSON string: This is not valid JSON: Expecting value (line 1, column 10)."
    )
    assert record.error_body == '{"role": admin}'


def test_serialize_json_writes_compact_json_as_javascript_does(db):
    step = data_step("to_text", "JSON", "SERIALIZE_JSON", object={"name": "{{ fields.name }}"})
    assert output_of(step, input={"fields": {"name": "Jane Doe"}}) == {
        "json": '{"name":"Jane Doe"}'
    }
    typed = data_step(
        "t", "JSON", "SERIALIZE_JSON", object={"n": 2.0, "x": 0.5, "é": "ü", "list": [True, None]}
    )
    assert output_of(typed) == {"json": '{"n":2,"x":0.5,"é":"ü","list":[true,null]}'}
    whole = data_step("t", "JSON", "SERIALIZE_JSON", object="{{ fields.obj }}")
    assert output_of(whole, input={"fields": {"obj": {"a": [1]}}}) == {"json": '{"a":[1]}'}
    plain = data_step("t", "JSON", "SERIALIZE_JSON", object='say "hi"')
    assert output_of(plain) == {"json": '"say \\"hi\\""'}


def test_serialize_xml_gives_auth0_s_examples(db):
    one = data_step("to_xml", "XML", "SERIALIZE_XML", object={"name": "John Doe"})
    assert output_of(one) == {"xml": f"{DECLARATION}\n<name>John Doe</name>"}
    nested = data_step(
        "to_xml",
        "XML",
        "SERIALIZE_XML",
        object={"user": {"name": "{{ fields.name }}", "id": "{{ context.user.user_id }}"}},
    )
    data = {"fields": {"name": "Jane Doe"}, "context": {"user": {"user_id": "auth0|42"}}}
    assert output_of(nested, input=data) == {
        "xml": f"{DECLARATION}\n<user>\n  <name>Jane Doe</name>\n  <id>auth0|42</id>\n</user>"
    }


def test_serialize_xml_wraps_several_keys_repeats_lists_and_writes_attributes(db):
    step = data_step(
        "x",
        "XML",
        "SERIALIZE_XML",
        object={
            "order": {"$": {"id": "7", "note": 'a "b" & c'}, "_": "rush"},
            "item": ["pen", "ink <blue>"],
            "empty": None,
        },
    )
    assert output_of(step)["xml"] == (
        f"{DECLARATION}\n<root>\n"
        '  <order id="7" note="a &quot;b&quot; &amp; c">rush</order>\n'
        "  <item>pen</item>\n  <item>ink &lt;blue&gt;</item>\n  <empty/>\n</root>"
    )


def test_serialize_xml_refuses_a_key_that_is_no_element_name(db):
    record = failure_of(data_step("x", "XML", "SERIALIZE_XML", object={"a b": 1}))
    assert record.error == "JSON object: 'a b' cannot be an XML element name."


def test_parse_xml_reads_auth0_s_example_and_the_conventions(db):
    simple = data_step("from_xml", "XML", "PARSE_XML", xml="<name>John Doe</name>")
    assert output_of(simple) == {"object": {"name": "John Doe"}}
    xml = (
        '<soap:Envelope xmlns:soap="urn:s"><soap:Body>'
        '<user id="42"><name>Jane</name><role>a</role><role>b</role>'
        '<tag kind="x">blue</tag><empty/></user></soap:Body></soap:Envelope>'
    )
    assert output_of(data_step("p", "XML", "PARSE_XML", xml=xml)) == {
        "object": {
            "soap:Envelope": {
                "$": {"xmlns:soap": "urn:s"},
                "soap:Body": {
                    "user": {
                        "$": {"id": "42"},
                        "name": "Jane",
                        "role": ["a", "b"],
                        "tag": {"$": {"kind": "x"}, "_": "blue"},
                        "empty": "",
                    }
                },
            }
        }
    }


def test_an_xml_answer_from_an_http_step_parses_into_a_later_step(db, api_standin):
    api_standin.answer(
        "GET", "/soap", 200, "<result><ok>true</ok></result>", content_type="text/xml"
    )
    output = output_of(
        http_step("soap_call", url=api_standin.url("/soap"), method="GET"),
        data_step("from_xml", "XML", "PARSE_XML", xml="{{ actions.soap_call.body }}"),
    )
    assert output == {"object": {"result": {"ok": "true"}}}


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        ("<user><name>Jane</user>", "This is not well-formed XML: mismatched tag (line 1"),
        ("", "There is no XML to read."),
        (
            '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
            "declares a DTD or entities",
        ),
        (
            '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>',
            "declares a DTD or entities",
        ),
        ("<a>&undefined;</a>", "undefined entity"),
        ("<a>" * 150 + "</a>" * 150, "nests deeper than 100 elements"),
    ],
    ids=["malformed", "empty", "external-entity", "entity-expansion", "entity", "deep"],
)
def test_malformed_or_hostile_xml_fails_the_step(db, xml, message):
    record = failure_of(data_step("p", "XML", "PARSE_XML", xml=xml or "{{ fields.none }}"))
    assert message in record.error
    assert "root:" not in record.error  # nothing of /etc/passwd
