"""Unit tests of the checker: names, types and diagnostics, against a schema and without one."""
from __future__ import annotations

import pytest

from rules_engine import compile_expression
from rules_engine import typesys as T
from rules_engine.checker import Env, check
from rules_engine.diagnostics import CompileError, ExprSource
from rules_engine.parser import parse
from rules_engine.schema import parse_type

SCHEMA = {
    "customer": {
        "tier": "enum(gold, silver, bronze)",
        "age": "number",
        "name": "string",
        "since": "date",
        "vip": "boolean",
        "email": "string?",
        "purchases": "list({amount: number, date: date, sku: string})",
    },
    "channel": "string",
    "tags": "list(string)",
    "limit": "number?",
}


def errors(text: str, schema=SCHEMA):
    """Every diagnostic of a text that must not compile."""
    with pytest.raises(CompileError) as e:
        compile_expression(text, schema)
    return e.value.diagnostics


def error(text: str, schema=SCHEMA):
    diags = errors(text, schema)
    assert len(diags) == 1, [d.render() for d in diags]
    return diags[0]


def ok(text: str, schema=SCHEMA):
    return compile_expression(text, schema)


def checked(text: str, schema=SCHEMA):
    src = ExprSource.standalone(text)
    return check(parse(src), src, Env(parse_type(schema) if schema is not None else None))


# -- names ---------------------------------------------------------------------------------------------

def test_fields_resolve_with_their_types():
    assert ok("customer.age").type == T.NUMBER
    assert ok("customer.email").type == T.STRING.as_nullable()
    assert ok("customer.tier").type.is_enum
    assert ok("customer.purchases.amount").type == T.list_of(T.NUMBER)   # path over a list projects
    assert ok("tags").type == T.list_of(T.STRING)


def test_unknown_top_level_field_with_suggestion():
    d = error("customr.age > 18")
    assert d.code == "E-UNKNOWN-FIELD" and d.severity == "error"
    assert d.message == "unknown field 'customr' (did you mean 'customer'?)"
    assert (d.line, d.col, d.end_col) == (1, 1, 8)


def test_unknown_nested_field_with_suggestion_and_full_path():
    d = error('customer.teir = "gold"')
    assert d.message == "unknown field 'customer.teir' (did you mean 'customer.tier'?)"
    assert (d.col, d.end_col) == (1, 14)


def test_unknown_field_without_a_close_name_has_no_suggestion():
    d = error("zzz > 1")
    assert d.message == "unknown field 'zzz'"


def test_unknown_function_with_suggestion():
    d = error("cout(tags) > 1")
    assert d.code == "E-UNKNOWN-FUNCTION"
    assert d.message == "unknown function 'cout' (did you mean 'count'?)"
    assert (d.col, d.end_col) == (1, 5)          # the name, not the whole call
    d = error("string lenght(customer.name) > 3")
    assert d.code == "E-UNKNOWN-FUNCTION" and "did you mean 'string length'?" in d.message


def test_unknown_function_is_an_error_even_without_schema():
    d = error("frobnicate(x)", schema=None)
    assert d.code == "E-UNKNOWN-FUNCTION"


def test_unknown_property_of_a_temporal_value():
    d = error("customer.since.yeer = 2020")
    assert "date has no property 'yeer' (did you mean 'year'?)" in d.message
    assert ok("customer.since.year = 2020 and customer.since.weekday < 6")


# -- item and loop variables --------------------------------------------------------------------------

def test_filter_item_scope():
    assert ok("customer.purchases[item.amount > 100]").type == T.list_of(parse_type(SCHEMA["customer"]["purchases"]).elem)
    # the item's fields are in scope by their bare names, next to the outer names
    assert ok("count(customer.purchases[amount > 100 and date > customer.since]) > 0")
    # `item` does not exist outside the filter
    d = error("customer.purchases[item.amount > 1] = [] and item.amount > 1")
    assert d.message.startswith("unknown field 'item'")


def test_unknown_field_of_the_item_suggests_the_item_field():
    d = error("customer.purchases[amont > 100]")
    assert d.message == "unknown field 'amont' (did you mean 'amount'?)"
    d = error("customer.purchases[item.amont > 100]")
    assert d.message == "unknown field 'item.amont' (did you mean 'item.amount'?)"


def test_loop_variables_are_scoped_to_the_loop():
    assert ok("for p in customer.purchases return p.amount * 2").type == T.list_of(T.NUMBER)
    assert ok("some p in customer.purchases satisfies p.amount > 100").type.kind == T.BOOLEAN_K
    assert ok("every t in tags satisfies starts with(t, \"x\")")
    assert ok("for a in [1, 2], b in [a, 10] return a * b")    # a later source sees earlier variables
    text = "(for p in customer.purchases return p.amount)[1] > p"
    d = error(text)
    assert d.message == "unknown field 'p'" and d.col == len(text)
    d = error("for p in customer.purchases return p.amont")
    assert d.message == "unknown field 'p.amont' (did you mean 'p.amount'?)"


def test_loop_over_a_non_list_is_a_type_error():
    d = error("for c in customer.age return c")
    assert d.code == "E-TYPE" and "needs a list" in d.message


# -- types ----------------------------------------------------------------------------------------------

def test_string_compared_with_number():
    d = error('customer.age > "18"')
    assert (d.code, d.message) == ("E-TYPE", "cannot compare number with string")
    assert (d.col, d.end_col) == (1, 20)


def test_boolean_compared_with_number_and_date_with_string():
    assert error("customer.vip = 1").message == "cannot compare boolean with number"
    assert error('customer.since > "2020-01-01"').message == "cannot compare date with string"
    assert ok('customer.since > @"2020-01-01"')
    assert ok('customer.since > date("2020-01-01")')


def test_non_boolean_operands_of_and_or():
    d = error("customer.name and customer.vip")
    assert d.code == "E-TYPE"
    assert d.message == "'and' needs boolean operands, but 'customer.name' is string"
    assert (d.col, d.end_col) == (1, 14)
    d = error("customer.vip or customer.age")
    assert d.message == "'or' needs boolean operands, but 'customer.age' is number" and d.col == 17


def test_if_condition_must_be_boolean():
    assert "condition of 'if' must be boolean" in error("if customer.age then 1 else 2").message


def test_arithmetic_types():
    assert error("customer.age + customer.name").message == "cannot add number and string with '+'"
    assert ok('customer.name + "!"').type == T.STRING
    assert ok('customer.since + duration("P1D")').type.kind == T.DATE_K
    assert ok('customer.since + @"P1D"').type == T.DATE
    assert ok("customer.since - customer.since").type == T.DT_DURATION
    assert "cannot multiply" in error("customer.since * 2").message


def test_wrong_function_argument_type():
    d = error("string length(customer.age) > 1")
    assert d.code == "E-ARGS"
    assert d.message == "argument 1 ('string') of 'string length' must be string, but this is number"
    assert (d.col, d.end_col) == (15, 27)          # the argument
    d = error('substring(customer.name, "2")')
    assert "argument 2 ('start position') of 'substring' must be number" in d.message


def test_wrong_function_arity():
    d = error("modulo(customer.age)")
    assert d.code == "E-ARGS"
    assert d.message.startswith("'modulo' takes 2 arguments") and d.message.endswith("got 1")
    assert "'count' takes 1 argument" in error("count(tags, tags)").message
    assert "got 0" in error("string length()").message


def test_single_value_where_a_list_is_expected_is_allowed():
    assert ok("count(customer.age)")          # FEEL: a single value is a one-element list


def test_feel_conversions_only():
    # no implicit string -> number conversion
    assert error('customer.age = "18"').code == "E-TYPE"
    # date and date-time compare (FEEL converts the date)
    assert ok('customer.since < @"2026-01-01T00:00:00Z"')


# -- enums ---------------------------------------------------------------------------------------------

def test_enum_literal_checks():
    assert ok('customer.tier = "gold"')
    d = error('customer.tier = "gld"')
    assert d.code == "E-TYPE"
    assert d.message == "'gld' is not one of enum(gold, silver, bronze) (did you mean 'gold'?)"
    assert (d.col, d.end_col) == (17, 22)      # the literal
    assert "did you mean 'silver'" in error('"silvr" = customer.tier').message
    assert "did you mean 'gold'" in error('customer.tier != "GOLD"').message


def test_enum_literals_in_tests_and_lists():
    assert ok('customer.tier in ("gold", "silver")')
    d = error('customer.tier in ("gold", "platnum")')
    assert "'platnum' is not one of enum(gold, silver, bronze)" in d.message
    d = error('customer.tier in ["gold", "slver"]')
    assert "did you mean 'silver'" in d.message


def test_enum_compares_with_strings():
    assert ok("customer.tier = channel")
    assert ok('upper case(customer.tier) = "GOLD"')


# -- several errors ------------------------------------------------------------------------------------

def test_every_problem_is_reported_not_just_the_first():
    text = 'customer.age > "x" and customr.vip and cout(tags) > 1 and customer.tier = "gld"'
    diags = errors(text)
    codes = [(d.code, d.col) for d in diags]
    col = text.index
    assert codes == [("E-TYPE", 1), ("E-UNKNOWN-FIELD", col("customr") + 1), ("E-UNKNOWN-FUNCTION", col("cout") + 1),
                     ("E-TYPE", col('"gld"') + 1)]
    assert all(d.severity == "error" for d in diags)


def test_several_errors_on_several_lines_are_sorted():
    diags = errors('customer.nme = "a"\n  and customer.age > "b"\n  and foo')
    assert [(d.line, d.col, d.code) for d in diags] == [(1, 1, "E-UNKNOWN-FIELD"), (2, 7, "E-TYPE"),
                                                        (3, 7, "E-UNKNOWN-FIELD")]


def test_checker_collects_without_raising():
    c = checked("a + 1 > b and x")
    assert not c.ok
    assert sorted(d.message for d in c.diagnostics) == ["unknown field 'a'", "unknown field 'b'",
                                                        "unknown field 'x'"]


def test_expected_boolean_result():
    src = ExprSource.standalone("customer.age + 1")
    c = check(parse(src), src, Env(parse_type(SCHEMA)), expect=T.BOOLEAN, what="a 'when' condition")
    assert not c.ok
    assert c.diagnostics[0].message == "a 'when' condition must be boolean, but this is number"


def test_nullable_types_are_tracked():
    assert ok("limit > 1").type == T.BOOLEAN.as_nullable()
    assert ok("customer.age > 1").type == T.BOOLEAN
    assert ok("customer.email = null").type == T.BOOLEAN


# -- literals -------------------------------------------------------------------------------------------

def test_bad_temporal_literal():
    d = error('@"2020-13-01"', schema=None)
    assert d.code == "E-BAD-LITERAL" and "2020-13-01" in d.message


def test_duplicate_context_key():
    d = error("{a: 1, a: 2}", schema=None)
    assert d.code == "E-DUPLICATE-KEY" and d.col == 11


def test_unary_test_outside_in_is_an_error():
    d = error('("a", "b")', schema=None)
    assert d.code == "E-SYNTAX" and "only allowed after 'in'" in d.message
    assert ok("(< 10).end", schema=None).evaluate() == 10    # a single unary test is a range value


# -- dynamic mode (schema=None) -------------------------------------------------------------------------

def test_dynamic_names_need_no_schema():
    e = ok("x + 1 > y", schema=None)
    assert e.type.kind == T.BOOLEAN_K and e.warnings == []
    assert ok("customer.purchases[amount > 100].sku", schema=None)
    assert ok("for p in xs return p.anything", schema=None)


def test_dynamic_mode_turns_provable_mismatches_into_warnings():
    e = ok('"a" > 1', schema=None)
    assert [(w.code, w.severity, w.message) for w in e.warnings] == [
        ("E-TYPE", "warning", "cannot compare string with number")]
    assert e.evaluate() is None               # FEEL: a type error at run time is null
    e = ok("not(1)", schema=None)
    assert e.warnings and e.warnings[0].code == "E-ARGS"
    assert e.evaluate() is None


def test_dynamic_mode_unknown_field_of_a_context_literal_is_a_warning():
    e = ok("{a: 1}.b", schema=None)
    assert e.warnings[0].message == "unknown field 'b'"
    assert e.evaluate() is None
    # against a schema it is an error
    assert error("customer.nope").severity == "error"


def test_dynamic_mode_runtime_types():
    e = ok("x > 1", schema=None)
    assert e.evaluate({"x": 2}) is True
    assert e.evaluate({"x": "a"}) is None     # checked at run time: null, with a warning
    value, warnings = e.evaluate_with_warnings({"x": "a"})
    assert value is None and len(warnings) == 1 and warnings[0].startswith("<expr>:1:1:")


def test_not_passes_null_through_in_its_type():
    from rules_engine.checker import Env, check
    from rules_engine.diagnostics import ExprSource
    from rules_engine.parser import parse
    from rules_engine.schema import parse_type
    from rules_engine import typesys as T
    schema = T.object_of([("a", parse_type("boolean?")), ("x", parse_type("boolean"))])
    for text, nullable in (("not(a)", True), ("not(x)", False)):
        src = ExprSource.standalone(text)
        node = parse(src)
        c = check(node, src, Env(schema))
        assert c.types[id(node)].kind == T.BOOLEAN_K and c.types[id(node)].nullable is nullable
