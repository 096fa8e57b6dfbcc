"""Expression cases of our own, as data, for what the DMN TCK covers thinly.

Each case is (expression, variables, expected): compiled with `compile_expression(text)` (no
schema: names are dynamically typed), evaluated with `variables` and the clock `AS_OF`. Expected
values are the engine's Python values: Decimal numbers, datetime.date / datetime / time,
timedelta, YearsMonths, lists, dicts, None for null.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from rules_engine import ContextError, compile_expression
from rules_engine.diagnostics import CompileError
from rules_engine.runtime import YearsMonths

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 22, 10, 30, tzinfo=UTC)   # a Sunday

ORDERS = [{"amount": 50, "status": "open"}, {"amount": 150, "status": "closed"},
          {"amount": 300, "status": "open"}]
CUSTOMER = {"name": "Ann", "tier": "gold",
            "purchases": [{"amount": 10, "items": [{"sku": "a"}, {"sku": "b"}]},
                          {"amount": 20, "items": [{"sku": "c"}]}]}
V = {"xs": [1, 2, 3], "orders": ORDERS, "customer": CUSTOMER, "n": None, "d": dt.date(2026, 11, 22),
     "t": True, "f": False}

CASES = [
    # -- quantifiers ------------------------------------------------------------------------------
    ("some x in xs satisfies x > 2", V, True),
    ("some x in xs satisfies x > 3", V, False),
    ("every x in xs satisfies x > 0", V, True),
    ("every x in xs satisfies x > 1", V, False),
    ("some x in [] satisfies true", {}, False),
    ("every x in [] satisfies false", {}, True),
    ("some x in [1, null] satisfies x > 1", {}, False),        # null is not true
    ("every x in [2, null] satisfies x > 1", {}, False),
    ("some o in orders satisfies o.status = \"closed\"", V, True),
    ("every o in orders satisfies o.amount >= 50", V, True),
    ("every x in [1, 2], y in [3, 4] satisfies x < y", {}, True),
    ("some x in [1, 2], y in [2, 3] satisfies x = y", {}, True),
    ("some x in [1, 2], y in [5, 6] satisfies x = y", {}, False),
    ("some p in customer.purchases satisfies some i in p.items satisfies i.sku = \"c\"", V, True),
    ("some x in [{a: 1}, {a: 2}] satisfies x.a = 2", {}, True),
    ("some i in 1..3 satisfies i * i = 9", {}, True),
    # -- for -----------------------------------------------------------------------------------------
    ("for x in xs return x * 2", V, [D(2), D(4), D(6)]),
    ("for x in [] return x", {}, []),
    ("for o in orders return o.amount", V, [D(50), D(150), D(300)]),
    ("for x in [1, 2], y in [10, 20] return x + y", {}, [D(11), D(21), D(12), D(22)]),   # two contexts
    ("for x in [1, 2], y in [x, x * 10] return y", {}, [D(1), D(10), D(2), D(20)]),   # the second sees the first
    ("for i in 1..3 return i * i", {}, [D(1), D(4), D(9)]),
    ("for i in 3..1 return i", {}, [D(3), D(2), D(1)]),
    ("for i in [1..3] return i", {}, [D(1), D(2), D(3)]),
    ("for x in [{a: 1}, {a: 2}] return x.a", {}, [D(1), D(2)]),
    ("for x in [1, 2], y in [{b: x}] return y.b + x", {}, [D(2), D(4)]),
    ("for p in customer.purchases return count(p.items)", V, [D(2), D(1)]),
    ("sum(for o in orders return o.amount)", V, D(500)),
    ("for x in xs return if x > 1 then \"big\" else \"small\"", V, ["small", "big", "big"]),
    # -- if --------------------------------------------------------------------------------------------
    ("if 1 > 2 then \"a\" else \"b\"", {}, "b"),
    ("if 2 > 1 then \"a\" else \"b\"", {}, "a"),
    ("if null then \"a\" else \"b\"", {}, "b"),                 # only true takes the then branch
    ("if n = null then \"none\" else \"some\"", V, "none"),
    ("if n > 1 then \"a\" else \"b\"", V, "b"),
    ("if t and f then 1 else if t then 2 else 3", V, D(2)),
    ("(if t then xs else [])[2]", V, D(2)),
    # -- filters -----------------------------------------------------------------------------------------
    ("xs[item > 1]", V, [D(2), D(3)]),
    ("xs[item > 5]", V, []),
    ("orders[item.amount > 100]", V, [{"amount": D(150), "status": "closed"}, {"amount": D(300), "status": "open"}]),
    ("orders[amount > 100].status", V, ["closed", "open"]),              # bare field names
    ("orders[status = \"open\"].amount", V, [D(50), D(300)]),
    ("orders[status = \"open\" and amount > 100].amount", V, [D(300)]),
    ("orders[item.status = \"open\" and amount < 100].amount", V, [D(50)]),
    ("sum(orders[status = \"open\"].amount)", V, D(350)),
    ("count(orders[amount > x])", {"orders": ORDERS, "x": 100}, D(2)),   # outer names stay visible
    ("[1, 2, 3][item >= 2]", {}, [D(2), D(3)]),
    ("[{a: 1}, {a: 2}, {a: 3}][item.a >= 2].a", {}, [D(2), D(3)]),
    ("[{x: 1}, {y: 2}][y > 1]", {}, [{"y": D(2)}]),
    ("xs[item > n]", V, []),
    ("xs[1]", V, D(1)),
    ("xs[-1]", V, D(3)),
    ("xs[0]", V, None),
    ("xs[4]", V, None),
    ("orders[1].status", V, "open"),
    ("orders[-1].amount", V, D(300)),
    ("customer.purchases[amount > 15].items.sku", V, [["c"]]),
    # -- paths ----------------------------------------------------------------------------------------------
    ("customer.name", V, "Ann"),
    ("customer.purchases.amount", V, [D(10), D(20)]),               # projection over a list
    ("customer.purchases.items.sku", V, [["a", "b"], ["c"]]),
    ("orders.amount", V, [D(50), D(150), D(300)]),
    ("customer.missing", V, None),
    ("missing.field", V, None),
    ("{a: 1, b: a + 1}.b", {}, D(2)),
    ("[{x: 1}].y", {}, [None]),
    ("d.year", V, D(2026)),
    ("d.weekday", V, D(7)),
    ("(< 10).end", {}, D(10)),
    ("[1..10).end included", {}, False),
    # -- null logic: the full three-valued tables ---------------------------------------------------------------
    ("true and true", {}, True), ("true and false", {}, False), ("true and null", {}, None),
    ("false and true", {}, False), ("false and false", {}, False), ("false and null", {}, False),
    ("null and true", {}, None), ("null and false", {}, False), ("null and null", {}, None),
    ("true or true", {}, True), ("true or false", {}, True), ("true or null", {}, True),
    ("false or true", {}, True), ("false or false", {}, False), ("false or null", {}, None),
    ("null or true", {}, True), ("null or false", {}, None), ("null or null", {}, None),
    ("not(true)", {}, False), ("not(false)", {}, True), ("not(null)", {}, None),
    # the same through variables (no constant folding, dynamic types)
    ("a and b", {"a": None, "b": False}, False), ("a and b", {"a": True, "b": None}, None),
    ("a or b", {"a": None, "b": True}, True), ("a or b", {"a": False, "b": None}, None),
    ("a and b and c", {"a": True, "b": None, "c": False}, False),
    ("a or b or c", {"a": False, "b": None, "c": False}, None),
    ("a and b", {"a": 1, "b": True}, None),                        # a non-boolean is not true: null
    ("a or b", {"a": "x", "b": True}, True),
    ("null = null", {}, True), ("null != null", {}, False), ("1 = null", {}, False),
    ("n = null", V, True), ("missing = null", {}, True),
    ("null < 1", {}, None), ("n + 1", V, None), ("\"a\" + n", V, None),
    ("n between 1 and 5", V, None), ("n in [1..5]", V, None),
    ("n in (1, 2)", V, False),                                     # positive tests are `= 1`, `= 2`: false for null
    ("count([1, 2, null])", {}, D(3)),
    # -- temporal arithmetic ---------------------------------------------------------------------------------------
    ("today()", {}, dt.date(2026, 11, 22)),
    ("now()", {}, AS_OF),
    ("today() - @\"P1D\"", {}, dt.date(2026, 11, 21)),
    ("today() + @\"P90D\"", {}, dt.date(2027, 2, 20)),
    ("d - @\"P90D\"", V, dt.date(2026, 8, 24)),
    ("d + @\"P1M\"", V, dt.date(2026, 12, 22)),
    ("@\"2026-01-31\" + @\"P1M\"", {}, dt.date(2026, 2, 28)),            # end of month clamps
    ("@\"2024-02-29\" + @\"P1Y\"", {}, dt.date(2025, 2, 28)),
    ("d - @\"2026-01-01\"", V, dt.timedelta(days=325)),                  # date minus date: a duration
    ("date(\"2026-11-22\") - date(\"2025-11-22\")", {}, dt.timedelta(days=365)),
    ("today() - date(\"2026-01-01\") > @\"P300D\"", {}, True),
    ("date and time(\"2026-11-22T10:00:00Z\") + @\"PT36H\"", {}, dt.datetime(2026, 11, 23, 22, tzinfo=UTC)),
    ("date and time(\"2026-11-22T10:00:00Z\") - @\"P1M\"", {}, dt.datetime(2026, 10, 22, 10, tzinfo=UTC)),
    ("now() - @\"2026-11-22T00:00:00Z\"", {}, dt.timedelta(hours=10, minutes=30)),
    ("years and months duration(date(\"2025-01-31\"), date(\"2026-11-22\"))", {}, YearsMonths(21)),
    ("@\"P1Y\" + @\"P6M\"", {}, YearsMonths(18)),
    ("@\"P1D\" * 2", {}, dt.timedelta(days=2)),
    ("@\"10:00:00\" + @\"PT90M\"", {}, dt.time(11, 30)),
    ("@\"2026-11-22\" > @\"2026-11-21\"", {}, True),
    ("d < @\"2026-11-22\"", V, False),
    ("today() = d", V, True),
    ("d in [@\"2026-11-01\"..@\"2026-11-30\"]", V, True),
    ("d between @\"2026-01-01\" and @\"2026-06-30\"", V, False),
    ("@\"P2D\" > @\"PT47H\"", {}, True),
    ("@\"P1Y\" > @\"P11M\"", {}, True),
    ("@\"2026-11-22T10:00:00+01:00\" = @\"2026-11-22T09:00:00Z\"", {}, True),
    ("now().hour", {}, D(10)),
    ("@\"PT36H\".days", {}, D(1)),
    ("@\"P1DT2H\".hours", {}, D(2)),
    ("@\"P1Y2M\".months", {}, D(2)),
    ("day of week(today())", {}, "Sunday"),
    ("month of year(today())", {}, "November"),
    ("date(\"2026-02-30\")", {}, None),                                  # a bad date is null
    ("string(today())", {}, "2026-11-22"),
    # -- decimals ----------------------------------------------------------------------------------------------------
    ("0.1 + 0.2 = 0.3", {}, True),
    ("0.1 + 0.2", {}, D("0.3")),
    ("0.3 - 0.1 = 0.2", {}, True),
    ("sum([0.1, 0.2, 0.3]) = 0.6", {}, True),
    ("x + 0.1", {"x": 0.2}, D("0.3")),                                   # a float input stays its decimal text
    ("x * 3", {"x": 0.2}, D("0.6")),
    ("100.10 * 3", {}, D("300.30")),
    ("1 / 3", {}, D("0.3333333333333333333333333333333333")),            # 34 significant digits
    ("2 ** 100", {}, D("1267650600228229401496703205376")),
    ("123456789012345678901234567890.1234 + 0", {}, D("123456789012345678901234567890.1234")),
    ("9999999999999999999999999999999999 + 1", {}, D("1.000000000000000000000000000000000E+34")),
    ("x + 1", {"x": 12345678901234567890123456789}, D("12345678901234567890123456790")),   # ints stay exact
    ("1.10 = 1.1", {}, True),
    ("string(1.10)", {}, "1.1"),
    ("10 ** -2", {}, D("0.01")),
    ("decimal(2.675, 2)", {}, D("2.68")),                                # half even
    ("1 / 0", {}, None),
    ("-x", {"x": 5}, D(-5)),
]


def _ids():
    return [f"{i}:{c[0][:50]}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("text, variables, expected", CASES, ids=_ids())
def test_expression(text, variables, expected):
    value = compile_expression(text).evaluate(variables, as_of=AS_OF)
    assert type(value) is type(expected), f"{text!r} gave {value!r}, expected {expected!r}"
    assert value == expected, f"{text!r} gave {value!r}, expected {expected!r}"


def test_decimals_keep_34_digits():
    v = compile_expression("1 / 3").evaluate()
    assert len(v.as_tuple().digits) == 34
    v = compile_expression("1234567890.123456789012345678901234 * 1").evaluate()
    assert str(v) == "1234567890.123456789012345678901234"


def test_errors_become_null_with_a_warning():
    e = compile_expression("x / y + 1")
    value, warnings = e.evaluate_with_warnings({"x": 1, "y": 0})
    assert value is None
    assert warnings == ["<expr>:1:1: division by zero: 1 / 0"]
    assert e.evaluate_with_warnings({"x": 1, "y": 2}) == (D("1.5"), [])


def test_today_reads_the_clock_given():
    e = compile_expression("today()")
    assert e.evaluate(as_of=dt.datetime(2030, 1, 2, 23, 0, tzinfo=UTC)) == dt.date(2030, 1, 2)


# -- typed schemas ---------------------------------------------------------------------------------------------

SCHEMA = {
    "customer": {
        "tier": "enum(gold, silver, bronze)",
        "age": "number",
        "since": "date",
        "seen": "datetime",
        "vip": "boolean",
        "email": "string?",
        "wait": "duration",
        "purchases": "list({amount: number, at: date})",
    },
    "tags": "list(string)",
}
GOOD = {"customer": {"tier": "gold", "age": 30, "since": "2020-01-01", "seen": "2026-11-22T10:00:00Z",
                     "vip": True, "wait": "P3D", "purchases": [{"amount": 10.5, "at": "2026-01-01"},
                                                               {"amount": 200, "at": "2026-11-01"}]},
        "tags": ["new"]}


@pytest.mark.parametrize("text, expected", [
    ('customer.age >= 18 and customer.tier = "gold"', True),
    ("customer.since", dt.date(2020, 1, 1)),
    ("customer.seen", dt.datetime(2026, 11, 22, 10, tzinfo=UTC)),
    ("customer.wait", dt.timedelta(days=3)),
    ("customer.email", None),                                    # optional and absent
    ("customer.email = null", True),
    ("customer.purchases[1].amount", D("10.5")),
    ("sum(customer.purchases.amount)", D("210.5")),
    ("customer.purchases[at > today() - @\"P90D\"].amount", [D(200)]),
    ("count(customer.purchases[amount > 100]) > 0 and customer.vip", True),
    ("today() - customer.since > @\"P365D\"", True),
    ("customer.seen < now()", True),
    ('"new" in tags', True),                                     # `in` a list value: membership
    ('tags[1] = "new"', True),
    ('list contains(tags, "new")', True),
    ("customer.tier in (\"gold\", \"silver\")", True),
])
def test_typed_schema(text, expected):
    value = compile_expression(text, schema=SCHEMA).evaluate(GOOD, as_of=AS_OF)
    assert value == expected and type(value) is type(expected)


def _with(path, value):
    import copy
    ctx = copy.deepcopy(GOOD)
    target = ctx
    *parents, last = path
    for p in parents:
        target = target[p]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return ctx


@pytest.mark.parametrize("path, value, field, expected", [
    (("customer", "age"), "thirty", "customer.age", "number"),
    (("customer", "age"), KeyError, "customer.age", "number"),           # required and missing
    (("customer", "tier"), "platinum", "customer.tier", "enum(gold, silver, bronze)"),
    (("customer", "since"), "2020-13-01", "customer.since", "date"),
    (("customer", "seen"), "2026-11-22T10:00:00", "customer.seen", "datetime"),
    (("customer", "vip"), "yes", "customer.vip", "boolean"),
    (("customer", "purchases", 1, "amount"), "lots", "customer.purchases[1].amount", "number"),
    (("customer", "purchases"), {"amount": 1}, "customer.purchases", "list"),
    (("tags", 0), 7, "tags[0]", "string"),
    (("customer",), 5, "customer", "object"),
])
def test_input_validation_errors_name_the_field(path, value, field, expected):
    e = compile_expression("customer.age > 1", schema=SCHEMA)
    with pytest.raises(ContextError) as err:
        e.evaluate(_with(path, value))
    assert err.value.path == field
    assert expected in err.value.expected
    assert str(err.value).startswith(f"{field}: expected ")


def test_context_must_be_a_mapping():
    with pytest.raises(ContextError):
        compile_expression("tags", schema=SCHEMA).evaluate([1, 2])
    with pytest.raises(ContextError):
        compile_expression("x").evaluate("not a mapping")


def test_typed_schema_rejects_what_dynamic_mode_allows():
    assert compile_expression('x > "a"').evaluate({"x": 1}) is None
    with pytest.raises(CompileError):
        compile_expression('customer.age > "a"', schema=SCHEMA)
