"""Compile-time checks of ruleset files: every problem has a stable code and the exact position in the
YAML file the analyst edits, including inside expression strings of every YAML style.
"""
from __future__ import annotations

import textwrap

import pytest

import rules_engine
from rules_engine import RulesetError


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def diagnostics(text: str, filename: str = "x.yaml") -> list:
    with pytest.raises(RulesetError) as info:
        rules_engine.compile_ruleset_text(dedent(text), filename=filename)
    return info.value.diagnostics


def brief(text: str) -> list[tuple]:
    """(code, line, col) of every diagnostic."""
    return [(d.code, d.line, d.col) for d in diagnostics(text)]


def pos(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, col) of the nth occurrence of needle in the dedented text."""
    text = dedent(text)
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
        assert at >= 0
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


CTX = """\
ruleset: t
context:
  customer:
    tier: enum(gold, silver)
    age: number
    name: string
    joined: date?
"""


# -- the "done when" item: a misspelt field inside a folded block scalar ----------------------------

FOLDED = CTX + """\
rules:
  - id: gold-adults
    when: >-
      customer.age >= 18
      and customer.teir = "gold"
    then: offer
"""


def test_misspelt_field_in_a_folded_block_scalar_points_at_the_file():
    (d,) = diagnostics(FOLDED)
    assert (d.file, d.line, d.col, d.end_col) == ("x.yaml", 12, 11, 24)
    assert d.code == "E-UNKNOWN-FIELD"
    assert d.severity == "error"
    assert d.message == "unknown field 'customer.teir' (did you mean 'customer.tier'?)"
    assert d.render() == (
        "x.yaml:12:11: error[E-UNKNOWN-FIELD]: unknown field 'customer.teir' (did you mean 'customer.tier'?)\n"
        '   12 |       and customer.teir = "gold"\n'
        "      |           ^^^^^^^^^^^^^")


@pytest.mark.parametrize("when", [
    # literal block scalar
    '|\n      customer.age >= 18\n      and customer.teir = "gold"',
    # folded, keep and strip chomping, explicit indentation indicator
    '>\n      customer.age >= 18\n      and customer.teir = "gold"',
    '>+\n      customer.age >= 18\n      and customer.teir = "gold"\n',
    '|2-\n      customer.age >= 18\n      and customer.teir = "gold"',
    # a plain scalar continued on the next line
    'customer.age >= 18\n      and customer.teir = "gold"',
    # double-quoted, with escaped quotes, on two lines
    '"customer.age >= 18\n      and customer.teir = \\"gold\\""',
    # single-quoted, on two lines with a blank line between
    '\'customer.age >= 18\n\n      and customer.teir = "gold"\'',
], ids=["literal", "folded", "folded-keep", "literal-indent-strip", "plain-multiline", "double-quoted",
        "single-quoted"])
def test_misspelt_field_position_in_every_scalar_style(when):
    text = CTX + f"rules:\n  - id: r\n    when: {when}\n    then: offer\n"
    (d,) = diagnostics(text)
    assert d.code == "E-UNKNOWN-FIELD"
    assert d.message == "unknown field 'customer.teir' (did you mean 'customer.tier'?)"
    assert (d.line, d.col) == pos(text, "customer.teir")
    assert d.end_col == d.col + len("customer.teir")


@pytest.mark.parametrize("when, needle", [
    ("'customer.age > 18 and customer.teir = \"gold\"'", "customer.teir"),
    ('"customer.age > 18 and customer.teir = \\"gold\\""', "customer.teir"),
    ('"\\tcustomer.teir = \\"gold\\""', "customer.teir"),         # an escape before the error
    ("'\"it''s\" = customer.nme'", "customer.nme"),                  # a doubled quote before the error
])
def test_positions_inside_one_line_quoted_scalars(when, needle):
    text = CTX + f"rules:\n  - id: r\n    when: {when}\n    then: offer\n"
    (d,) = diagnostics(text)
    assert d.code == "E-UNKNOWN-FIELD"
    assert (d.line, d.col) == pos(text, needle)


def test_error_in_a_param_expression_and_a_segment_has_file_positions():
    text = CTX + """\
segments:
  adult: >
    customer.age >=
      18 and customer.nmae != ""
rules:
  - id: r
    when: adult
    then:
      - action: offer
        params:
          greeting: '="Hello " + customer.nam'
"""
    assert brief(text) == [("E-UNKNOWN-FIELD", *pos(text, "customer.nmae")),
                           ("E-UNKNOWN-FIELD", *pos(text, "customer.nam'"))]


# -- keys -----------------------------------------------------------------------------------------

def test_unknown_top_level_key_with_did_you_mean():
    text = CTX + "rulez:\n  - id: r\n    when: true\n    then: a\nrules:\n  - id: a\n    when: true\n    then: a\n"
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col, d.end_col) == ("E-UNKNOWN-KEY", 8, 1, 6)
    assert d.message == "unknown key 'rulez' in the ruleset (did you mean 'rules'?)"


def test_unknown_keys_at_every_level():
    text = CTX + """\
actions:
  offer: {grup: offers}
rules:
  - id: r
    wen: true
    then:
      - {action: offer, parms: {a: 1}}
    suppress: {tag: [x]}
    effective: {form: 2026-01-01T00:00:00Z}
policy:
  group: {offers: {max: 1}}
"""
    ds = diagnostics(text)
    got = [(d.code, d.line, d.col, d.message) for d in ds]
    assert got == [
        ("E-UNKNOWN-KEY", *pos(text, "grup"), "unknown key 'grup' in action 'offer' (did you mean 'group'?)"),
        ("E-MISSING-KEY", *pos(text, "id: r"), "rule 'r' needs a 'when' condition"),
        ("E-UNKNOWN-KEY", *pos(text, "wen"), "unknown key 'wen' in a rule (did you mean 'when'?)"),
        ("E-UNKNOWN-KEY", *pos(text, "parms"), "unknown key 'parms' in an action (did you mean 'params'?)"),
        ("E-BAD-VALUE", *pos(text, "{tag:"), "suppress needs 'actions', 'groups' or 'tags'"),
        ("E-UNKNOWN-KEY", *pos(text, "tag:"), "unknown key 'tag' in suppress (did you mean 'tags'?)"),
        ("E-UNKNOWN-KEY", *pos(text, "form"), "unknown key 'form' in effective (did you mean 'from'?)"),
        ("E-UNKNOWN-KEY", *pos(text, "group:", 0), "unknown key 'group' in policy (did you mean 'groups'?)"),
    ]


def test_unknown_key_without_a_close_match_lists_the_allowed_keys():
    text = CTX + "rules:\n  - id: r\n    when: true\n    then: a\n    colour: blue\n"
    (d,) = diagnostics(text)
    assert d.code == "E-UNKNOWN-KEY"
    assert (d.line, d.col) == pos(text, "colour")
    assert d.message == ("unknown key 'colour' in a rule; expected one of: description, effective, enabled, id, "
                         "priority, reason, suppress, tags, then, when")


def test_missing_required_top_level_keys():
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics("version: '1'\ndescription: nothing\n")] == [
        ("E-MISSING-KEY", 1, 1, "the ruleset needs a 'ruleset' key"),
        ("E-MISSING-KEY", 1, 1, "the ruleset needs a 'context' key"),
        ("E-MISSING-KEY", 1, 1, "the ruleset needs a 'rules' key"),
    ]


def test_missing_keys_in_rules_and_actions():
    text = CTX + """\
rules:
  - when: true
    then: a
  - id: no-when
    then: a
  - id: no-then
    when: true
  - id: no-action
    when: true
    then:
      - params: {a: 1}
"""
    got = [(d.code, d.line, d.col, d.message) for d in diagnostics(text)]
    assert got == [
        ("E-MISSING-KEY", *pos(text, "when: true"), "rule #1 needs an 'id'"),
        ("E-MISSING-KEY", *pos(text, "id: no-when"), "rule 'no-when' needs a 'when' condition"),
        ("E-MISSING-KEY", *pos(text, "id: no-then"), "rule 'no-then' needs 'then', 'suppress' or both"),
        ("E-MISSING-KEY", *pos(text, "params: {a: 1}"), "an action needs an 'action' id"),
    ]


def test_policy_group_needs_max():
    text = CTX + "rules:\n  - id: r\n    when: true\n    then: a\npolicy:\n  groups:\n    offer: {}\n"
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics(text)] == [
        ("E-MISSING-KEY", *pos(text, "{}"), "policy.groups.offer needs 'max'")]


# -- ids and actions --------------------------------------------------------------------------------

def test_duplicate_rule_ids():
    text = CTX + """\
rules:
  - id: same
    when: true
    then: a
  - id: other
    when: true
    then: b
  - id: same
    when: false
    then: c
"""
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col) == ("E-DUPLICATE-ID", *pos(text, "same", 1))
    assert d.message == "duplicate rule id 'same' (first used on line 9)"


def test_bad_ids_and_names():
    text = """\
ruleset: Retail Treatment
context: {x: number}
actions:
  Big-Offer: {}
rules:
  - id: Upper_Case
    when: true
    then: Big-Offer
"""
    got = [(d.code, d.line, d.col, d.message) for d in diagnostics(text)]
    assert got == [
        ("E-BAD-VALUE", 1, 10, "ruleset name 'Retail Treatment' may only use lower-case letters, digits, '_', '.', '-'"),
        ("E-BAD-VALUE", 4, 3, "action id 'Big-Offer' may only use lower-case letters, digits, '_', '.', '-'"),
        ("E-BAD-VALUE", 6, 9, "rule id 'Upper_Case' may only use lower-case letters, digits, '_', '.', '-'"),
        ("E-BAD-VALUE", 8, 11, "action id 'Big-Offer' may only use lower-case letters, digits, '_', '.', '-'"),
    ]


def test_a_yaml_boolean_as_id_is_not_a_string():
    text = CTX + "rules:\n  - id: off\n    when: true\n    then: a\n"
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics(text)] == [
        ("E-BAD-VALUE", *pos(text, "off"), "rule id must be a string")]


def test_unknown_action_with_a_catalog():
    text = CTX + """\
actions:
  winback_20: {priority: 50}
  whats_new: {}
rules:
  - id: r
    when: true
    then:
      - action: winbak_20
      - action: totally_new
  - id: s
    when: true
    suppress: {actions: [whats_neww]}
defaults: [fallbak]
"""
    got = [(d.code, d.line, d.col, d.message) for d in diagnostics(text)]
    assert got == [
        ("E-UNKNOWN-ACTION", *pos(text, "winbak_20"),
         "unknown action 'winbak_20' (did you mean 'winback_20'?): it is not in the actions catalog"),
        ("E-UNKNOWN-ACTION", *pos(text, "totally_new"),
         "unknown action 'totally_new': it is not in the actions catalog"),
        ("E-UNKNOWN-ACTION", *pos(text, "{actions: [whats_neww]}"),
         "rule 's' suppresses unknown action 'whats_neww' (did you mean 'whats_new'?)"),
        ("E-UNKNOWN-ACTION", *pos(text, "fallbak"), "unknown action 'fallbak': it is not in the actions catalog"),
    ]


def test_any_action_is_allowed_without_a_catalog():
    text = CTX + """\
rules:
  - id: r
    when: true
    then: [anything_goes, {action: another_one, params: {a: 1}}]
  - id: s
    when: true
    suppress: {actions: [never_proposed]}
defaults: [whatever]
"""
    rs = rules_engine.compile_ruleset_text(dedent(text), filename="x.yaml")
    assert rs.warnings == []


def test_suppressing_a_group_no_action_uses_is_a_warning_not_an_error():
    text = CTX + "rules:\n  - id: s\n    when: true\n    suppress: {groups: [ofer]}\n"
    rs = rules_engine.compile_ruleset_text(dedent(text), filename="x.yaml")
    assert [(d.code, d.severity, d.line, d.col, d.message) for d in rs.warnings] == [
        ("W-UNKNOWN-GROUP", "warning", *pos(text, "{groups"), "rule 's' suppresses group 'ofer', which no action uses")]


# -- types of expressions ------------------------------------------------------------------------------

@pytest.mark.parametrize("when, message, needle", [
    ("customer.age + 1", "the 'when' of rule 'r' must be boolean, but this is number", "customer.age + 1"),
    ("customer.name", "the 'when' of rule 'r' must be boolean, but this is string", "customer.name"),
    ("42", "the 'when' of rule 'r' must be boolean, but this is number", "42"),
])
def test_non_boolean_when(when, message, needle):
    text = CTX + f"rules:\n  - id: r\n    when: {when}\n    then: a\n"
    (d,) = diagnostics(text)
    assert (d.code, d.message) == ("E-TYPE", message)
    assert (d.line, d.col, d.end_col) == (10, 11, 11 + len(needle))


def test_non_boolean_segment():
    text = CTX + "segments:\n  adult: customer.age\nrules:\n  - id: r\n    when: adult\n    then: a\n"
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col, d.message) == ("E-TYPE", 9, 10, "segment 'adult' must be boolean, but this is number")


def test_wrong_type_in_a_params_expression():
    text = CTX + """\
rules:
  - id: r
    when: true
    then:
      - action: a
        params:
          label: '=customer.age + " years"'
          ok: '=customer.name + "!"'
"""
    (d,) = diagnostics(text)
    assert (d.code, d.message) == ("E-TYPE", "cannot add number and string with '+'")
    assert (d.line, d.col) == pos(text, 'customer.age + " years"')
    assert d.end_col == d.col + len('customer.age + " years"')


def test_priority_expression_must_be_a_number():
    text = CTX + "rules:\n  - id: r\n    when: true\n    priority: '=customer.name'\n    then: a\n"
    (d,) = diagnostics(text)
    assert d.code == "E-TYPE"
    assert (d.line, d.col) == pos(text, "customer.name'")
    assert "number" in d.message


def test_priority_literal_must_be_a_number():
    text = CTX + "rules:\n  - id: r\n    when: true\n    priority: high\n    then: a\n"
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics(text)] == [
        ("E-BAD-VALUE", *pos(text, "high"), "priority (a number, or an expression starting with '=') must be a number")]


@pytest.mark.parametrize("when, message, needle", [
    ('customer.tier = "platinum"', "'platinum' is not one of enum(gold, silver)", '"platinum"'),
    ('customer.tier in ("gold", "platnum")', "'platnum' is not one of enum(gold, silver)", '"platnum"'),
    ('customer.tier != "Gold"', "'Gold' is not one of enum(gold, silver) (did you mean 'gold'?)", '"Gold"'),
])
def test_enum_compared_with_a_value_it_cannot_take(when, message, needle):
    text = CTX + f"rules:\n  - id: r\n    when: {when}\n    then: a\n"
    (d,) = diagnostics(text)
    assert (d.code, d.message) == ("E-TYPE", message)
    assert (d.line, d.col) == pos(text, needle)
    assert d.end_col == d.col + len(needle)


def test_comparing_a_number_with_a_string():
    text = CTX + 'rules:\n  - id: r\n    when: customer.age > "18"\n    then: a\n'
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col, d.message) == ("E-TYPE", 10, 11, "cannot compare number with string")


def test_unknown_function_with_a_suggestion():
    text = CTX + 'rules:\n  - id: r\n    when: uppercase(customer.name) = "A" and lenght(customer.name) > 1\n    then: a\n'
    assert [(d.code, d.line, d.col, d.end_col, d.message) for d in diagnostics(text)] == [
        ("E-UNKNOWN-FUNCTION", 10, 11, 20, "unknown function 'uppercase' (did you mean 'upper case'?)"),
        ("E-UNKNOWN-FUNCTION", *pos(text, "lenght"), pos(text, "lenght")[1] + 6, "unknown function 'lenght'"),
    ]


def test_syntax_error_in_an_expression():
    text = CTX + "rules:\n  - id: r\n    when: customer.age >= 18)\n    then: a\n"
    (d,) = diagnostics(text)
    assert d.code == "E-SYNTAX"
    assert (d.line, d.col) == (10, 29)


def test_single_quotes_inside_an_expression_are_a_syntax_error_with_a_hint():
    text = CTX + "rules:\n  - id: r\n    when: \"customer.name = 'x'\"\n    then: a\n"
    (d,) = diagnostics(text)
    assert d.code == "E-SYNTAX"
    assert (d.line, d.col) == pos(text, "'x'")
    assert d.message == "unexpected character \"'\" (strings use double quotes)"


def test_a_field_with_a_bad_type_is_reported_once_not_at_every_use():
    text = "ruleset: t\ncontext:\n  age: numbr\nrules:\n  - id: r\n    when: age > 1\n    then: a\n"
    assert [(d.code, d.line, d.col) for d in diagnostics(text)] == [("E-BAD-TYPE", 3, 8)]


# -- segments -----------------------------------------------------------------------------------------

def test_segment_cycle():
    text = CTX + """\
segments:
  a: b and customer.age > 1
  b: c
  c: a
  fine: customer.age > 2
rules:
  - id: r
    when: a or fine
    then: x
"""
    ds = diagnostics(text)
    assert [(d.code, d.line, d.col, d.message) for d in ds] == [
        ("E-SEGMENT-CYCLE", *pos(text, "b and"), "segment 'a' depends on itself: a -> b -> c -> a")]


def test_segment_that_refers_to_itself():
    text = CTX + "segments:\n  loop: loop or customer.age > 1\nrules:\n  - id: r\n    when: loop\n    then: x\n"
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics(text)] == [
        ("E-SEGMENT-CYCLE", 9, 9, "segment 'loop' depends on itself: loop -> loop")]


def test_segment_named_like_a_context_field():
    text = CTX + "segments:\n  customer: true\nrules:\n  - id: r\n    when: true\n    then: x\n"
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics(text)] == [
        ("E-DUPLICATE-ID", 9, 3, "segment 'customer' has the same name as a context field")]


# -- schema types -------------------------------------------------------------------------------------

def test_bad_schema_types():
    text = """\
ruleset: t
context:
  a: strin
  b: enum(x, y
  c: list(foo)
  d: 5
  e: date??
  f: "enum(ok, not ok)"
  g: number
rules:
  - id: r
    when: g > 1
    then: x
"""
    got = [(d.code, d.line, d.col, d.message) for d in diagnostics(text)]
    assert got == [
        ("E-BAD-TYPE", 3, 6, "a: unknown type 'strin' (did you mean 'string'?); expected string, number, boolean, "
                             "date, datetime, time, duration, enum(...), list(...) or a mapping"),
        ("E-BAD-TYPE", 4, 6, "b: in type 'enum(x, y': expected ')', got the end"),
        ("E-BAD-TYPE", 5, 6, "c: unknown type 'foo'; expected string, number, boolean, date, datetime, time, "
                             "duration, enum(...), list(...) or a mapping"),
        ("E-BAD-TYPE", 6, 6, "d: expected a type name or a mapping, got 5"),
        ("E-BAD-TYPE", 7, 6, "e: in type 'date??': unexpected '?' after the type"),
        ("E-BAD-TYPE", 8, 6, "f: in type 'enum(ok, not ok)': expected ')', got 'ok'"),
    ]


def test_bad_field_names_in_the_schema():
    text = "ruleset: t\ncontext:\n  first-name: string\nrules:\n  - id: r\n    when: true\n    then: x\n"
    assert [(d.code, d.line, d.col) for d in diagnostics(text)] == [("E-BAD-VALUE", 3, 3)]


# -- other literal values -------------------------------------------------------------------------------

def test_bad_literal_values():
    text = CTX + """\
rules:
  - id: r
    when: true
    then: a
    enabled: maybe
    effective: {from: 2026-12-01T00:00:00Z, until: 2026-11-01T00:00:00Z}
  - id: s
    when: true
    then: b
    effective: {until: 2026-11-01T00:00:00}
policy:
  mode: last
  groups: {offer: {max: 0}}
"""
    got = [(d.code, d.line, d.col, d.message) for d in diagnostics(text)]
    assert got == [
        ("E-BAD-VALUE", *pos(text, "maybe"), "enabled must be true or false"),
        ("E-BAD-VALUE", *pos(text, "{from"), "effective.from must be before effective.until"),
        ("E-BAD-VALUE", *pos(text, "2026-11-01T00:00:00}"),
         "effective.until must be a date-time with an offset, e.g. 2026-11-27T00:00:00Z"),
        ("E-BAD-VALUE", *pos(text, "last"), "policy.mode must be 'all' or 'first', not 'last'"),
        ("E-BAD-VALUE", *pos(text, "0}}"), "max must be a whole number of at least 1"),
    ]


def test_a_file_that_is_not_a_mapping_or_is_empty():
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics("- a\n- b\n")] == [
        ("E-BAD-VALUE", 1, 1, "a ruleset file must be a mapping")]
    (d,) = diagnostics("")
    assert (d.code, d.line, d.col) == ("E-BAD-VALUE", 1, 1)
    (d,) = diagnostics("# only a comment\n")
    assert (d.code, d.line, d.col) == ("E-BAD-VALUE", 1, 1)


def test_rules_must_not_be_empty():
    text = CTX + "rules: []\n"
    assert [(d.code, d.line, d.col, d.message) for d in diagnostics(text)] == [
        ("E-BAD-VALUE", 8, 8, "rules must list at least one rule")]


# -- YAML itself ---------------------------------------------------------------------------------------

def test_malformed_yaml():
    text = CTX + "rules:\n  - id: r\n    when: [unclosed\n    then: a\n"
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col) == ("E-YAML", 11, 9)
    assert d.message == "did not find expected ',' or ']' (in the [...] list that starts at line 10, column 11)"


def test_tab_indentation():
    text = CTX + "rules:\n\t- id: r\n"
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col) == ("E-YAML", 9, 1)
    assert d.message == "tab character here: indent YAML with spaces"
    text = CTX + "rules:\n  - id: r\n\twhen: true\n"
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col) == ("E-YAML", 10, 1)
    assert d.message.startswith("tab character here: indent YAML with spaces")


def test_mapping_value_in_a_plain_scalar():
    text = CTX + "rules:\n  - id: r\n    when: true\n    then: a\n    description: note: this breaks\n"
    (d,) = diagnostics(text)
    assert d.code == "E-YAML"
    assert (d.line, d.col) == pos(text, ": this")
    assert d.message == "mapping values are not allowed here (put a value that contains ': ' in quotes)"


def test_duplicate_yaml_keys():
    text = CTX + "rules:\n  - id: r\n    when: true\n    then: a\n    when: false\ncontext: {}\n"
    got = [(d.code, d.line, d.col, d.message) for d in diagnostics(text)]
    assert got == [
        ("E-DUPLICATE-KEY", 12, 5, "duplicate key 'when': first defined on line 10"),
        ("E-DUPLICATE-KEY", 13, 1, "duplicate key 'context': first defined on line 2"),
    ]


def test_alias_bomb_is_refused_quickly():
    text = dedent("""
        ruleset: t
        a: &a [x, x, x, x, x, x, x, x, x, x]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
    """)
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col) == ("E-YAML-ALIAS", 5, 36)
    assert d.message == "aliases expand to more than 10,000 nodes (nested aliases multiply)"


def test_python_tags_are_refused():
    text = CTX + "rules:\n  - id: r\n    when: !!python/object/apply:os.system ['echo hacked']\n    then: a\n"
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col) == ("E-YAML-TAG", 10, 11)
    assert d.message.startswith("tag !!python/object/apply:os.system is not allowed")


def test_two_documents_in_one_file():
    text = CTX + "rules:\n  - id: r\n    when: true\n    then: a\n---\nruleset: u\n"
    (d,) = diagnostics(text)
    assert (d.code, d.line, d.col) == ("E-YAML", 12, 1)
    assert d.message == "a ruleset file holds one YAML document, but a second one starts here"


# -- all errors together, sorted --------------------------------------------------------------------

def test_all_errors_of_a_file_are_reported_together_sorted_by_position():
    text = """\
ruleset: t
context:
  customer:
    tier: enum(gold, silver)
    age: strng
actions:
  offer: {}
rules:
  - id: b
    when: customer.teir = "gold"
    then: ofer
  - id: a
    when: customer.age > 1 and customer.nme = "x"
    priority: '=customer.tier'
    then: offer
    colour: red
  - id: b
    when: 1
    then: offer
polcy: {}
"""
    ds = diagnostics(text)
    assert [(d.code, d.line, d.col) for d in ds] == [
        ("E-BAD-TYPE", 5, 10),
        ("E-UNKNOWN-FIELD", 10, 11),
        ("E-UNKNOWN-ACTION", 11, 11),
        ("E-UNKNOWN-FIELD", 13, 32),        # customer.age is still known: its bad type is reported once
        ("E-TYPE", 14, 17),
        ("E-UNKNOWN-KEY", 16, 5),
        ("E-DUPLICATE-ID", 17, 9),
        ("E-TYPE", 18, 11),
        ("E-UNKNOWN-KEY", 20, 1),
    ]
    assert ds == sorted(ds)
    for d in ds:
        assert d.file == "x.yaml" and d.severity == "error" and d.message


def test_diagnostics_have_file_line_col_code_message(tmp_path):
    f = tmp_path / "rules" / "broken.yaml"
    f.parent.mkdir()
    f.write_text(dedent(FOLDED), encoding="utf-8")
    with pytest.raises(RulesetError) as info:
        rules_engine.compile_ruleset(f)
    (d,) = info.value.diagnostics
    assert (d.file, d.line, d.col, d.code) == (str(f), 12, 11, "E-UNKNOWN-FIELD")
    assert d.to_dict() == {"file": str(f), "line": 12, "column": 11, "end_column": 24, "severity": "error",
                           "code": "E-UNKNOWN-FIELD",
                           "message": "unknown field 'customer.teir' (did you mean 'customer.tier'?)"}
    # the exception's text is the rendered diagnostics, never a traceback
    assert str(info.value).startswith(f"{f}:12:11: error[E-UNKNOWN-FIELD]")
    assert info.value.errors == [d]


def test_a_file_that_is_not_utf8(tmp_path):
    f = tmp_path / "latin1.yaml"
    f.write_bytes(dedent(CTX).encode() + b"rules:\n  - id: r\n    when: true\n    then: caf\xe9\n")
    with pytest.raises(RulesetError) as info:
        rules_engine.compile_ruleset(f)
    (d,) = info.value.diagnostics
    assert d.code == "E-YAML"
    assert "UTF-8" in d.message


@pytest.mark.parametrize("text", [
    "ruleset: t\ncontext: 5\nrules: 7\n",
    "ruleset: [a]\ncontext: {a: {b: {c: {d: list(list({x: number?}))}}}}\nrules: {}\n",
    "ruleset: t\ncontext: {x: number}\nrules:\n  - 5\n  - [1]\n  - {id: r, when: {a: 1}, then: {x: 1}}\n",
    "ruleset: t\ncontext: {x: number}\nrules:\n  - {id: r, when: x >, then: [{action: a, params: 5}]}\n",
    "ruleset: t\ncontext: {x: number}\nrules:\n  - {id: r, when: true, suppress: [a], priority: [1]}\n",
    "ruleset: t\ncontext: {x: number}\nactions: [a, b]\nrules:\n  - {id: r, when: true, then: a}\npolicy: [x]\n",
    "ruleset: t\ncontext: {x: number}\nrules:\n  - {id: r, when: '=x', then: a, tags: 5, effective: 3}\ndefaults: 9\n",
    "ruleset: t\ncontext: {x: number}\nsegments: [a]\nrules:\n  - {id: r, when: true, then: a}\n",
    "ruleset: t\ncontext: {x: number}\nsegments: {s: 5, t: [x]}\nrules:\n  - {id: r, when: s, then: a}\n",
    "\ufeffruleset: t\n\x00",
    "{{{{{{{{{{",
    "ruleset: t\ncontext: {x: number}\nrules:\n  - id: r\n    when: " + "(" * 500 + "true" + ")" * 500 + "\n    then: a\n",
])
def test_nonsense_never_produces_a_traceback(text):
    ds = diagnostics(text)
    assert ds and all(d.code and d.line >= 1 and d.col >= 1 for d in ds)
