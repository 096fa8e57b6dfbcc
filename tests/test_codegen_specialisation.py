"""Code generation takes Python's own operators where types allow; each such fast path must give
exactly what the runtime gives. Differential tests: the same expression compiled against a schema
(types known: fast paths) and without one (every operation through the runtime)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

import rules_engine

SCHEMA = {"d": "date", "t": "datetime", "tm": "time", "dur": "duration", "n": "number", "s": "string",
          "tags": "list(string)", "ds": "list(date)", "od": "date?", "on": "number?", "os": "string?",
          "ed": "date"}
CTX = {"d": "2026-03-01", "t": "2026-03-29T01:30:00+01:00", "tm": "10:00:00", "dur": "PT36H", "n": 5,
       "s": "gold", "tags": ["vip", "new"], "ds": ["2026-01-01", "2026-02-28"], "od": None, "on": None,
       "os": None, "ed": "2024-02-29"}
CTX_DYNAMIC = {"d": dt.date(2026, 3, 1), "t": dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
               "tm": dt.time(10), "dur": dt.timedelta(hours=36), "n": 5, "s": "gold", "tags": ["vip", "new"],
               "ds": [dt.date(2026, 1, 1), dt.date(2026, 2, 28)], "od": None, "on": None, "os": None,
               "ed": dt.date(2024, 2, 29)}

CASES = [
    'd - duration("P1D")', 'd - duration("PT36H")', 'd + dur', 'd - dur', 't - dur', 't + duration("PT1H")',
    't - duration("P1M")', 'd - duration("P1Y")', 'od - duration("P1D")',
    't > @"2026-03-29T00:00:00Z"', 't < @"2026-03-29T01:00:00"', 'tm < @"11:00:00"', 'tm < @"11:00:00+01:00"',
    'dur > duration("P1D")', 'dur < duration("P1D")',
    'count(tags)', 'count(ds[item > @"2026-02-01"])', 'list contains(tags, "vip")', 'list contains(tags, s)',
    'not(n > 3)', 'duration("P90D")', 'date("2026-13-01")', 'upper case("abc")', 'd > date("2026-02-01")',
    's in ("gold", "silver")', 'n in (1, 5, 7)', 'n between 1 and 10', 'n in [1..5)',
    'count(ds[item > d - duration("P45D")])', 'some x in ds satisfies x < d - duration("P45D") + duration("P1D")',
    'count(ds[item > @"2026-01-15" and n + 1 > 5])',
    # years and months: end-of-month clamping, both signs, date and date-time, out of range
    'ed + duration("P1Y")', 'ed - duration("P12M")', 'ed + duration("-P1M")', 't - duration("P1Y2M")',
    'd - duration("P9999Y")', 'od + duration("P1Y")',
    # comparisons with null, nullable ranges, string concatenation
    'on = null', 'on != null', 'n = null', 'null != s', 'on in [1..5]', 'n in (0..5]', 'on in (1..5)',
    '"a" + s', 's + os', 'os + "!"',
    # division by a literal, min and max of numbers
    'n / 1000', 'n / -3', 'n / 7 * 3', 'n / 0.5', 'n / 0', 'on / 10', 'min([n / 1000, 20])', 'max(n, 3, 5.5)',
    'min([n])', 'max([n, on])', 'min(n, 5)', 'max([n * 2, n / 3, -n])', 'min([])', 'max([n, "a"])',
    '50 * min([n / 1000, 20])', 'max(n, 2) - min(n / 4, 1) + 1', '2 * max([on, 1])', '3 * (n / 0)',
]


def test_loop_invariant_work_is_done_once_before_the_loop():
    src = rules_engine.compile_expression('count(ds[item > d - duration("P45D")])', schema=SCHEMA).source
    body = src.split("return", 1)[1]
    assert "(_h" in body and body.index("_tshift") < body.index(" for ")


@pytest.mark.parametrize("expr", CASES)
def test_fast_paths_agree_with_the_runtime(expr):
    typed, typed_warnings = rules_engine.compile_expression(expr, schema=SCHEMA).evaluate_with_warnings(CTX)
    dynamic, dynamic_warnings = rules_engine.compile_expression(expr).evaluate_with_warnings(CTX_DYNAMIC)
    assert typed == dynamic
    assert bool(typed_warnings) == bool(dynamic_warnings)


def test_constant_calls_are_folded_at_compile_time():
    src = rules_engine.compile_expression('d > date("2026-02-01") - duration("P90D")', schema=SCHEMA).source
    assert "date" not in src.split("return", 1)[1].replace("_rt.", "")  # no call left to make at run time


def test_a_failing_constant_call_still_warns_at_run_time():
    value, warnings = rules_engine.compile_expression('date("2026-13-01")', schema=SCHEMA).evaluate_with_warnings(CTX)
    assert value is None and warnings and "1:1" in warnings[0]


def test_count_is_a_number():
    assert rules_engine.compile_expression("count(tags) + 0.5", schema=SCHEMA).evaluate(CTX) == Decimal("2.5")


@pytest.mark.parametrize("expr, fragment", [
    ('ed + duration("P1Y")', "_tshift("), ('on = null', " is None)"), ('on != null', " is not None)"),
    ('on in [1..5]', "is None else "), ('s + os', "_concat("), ('"a" + s', "_concat("),
    ('n / 1000', "_div("), ('min([n / 1000, 20])', "min(_div("), ('max(n, 3, 5.5)', "max("),
    ('50 * min([n / 1000, 20])', "_mul(K")])
def test_typed_operations_compile_to_python_operators(expr, fragment):
    src = rules_engine.compile_expression(expr, schema=SCHEMA).source
    assert fragment in src and "_op(" not in src, src


# -- conditions: where only "is it true?" matters, `and`/`or` compile to plain Python logic -------

_ATOMS = ["a", "b", "c", 'date(w) > @"2026-01-01"']  # the last one is null with a warning for a bad w
_SHAPES = ["{0} and {1}", "{0} or {1}", "{0} and {1} and {2}", "{0} or {1} or {2}", "({0} or {1}) and {2}",
           "{0} and ({1} or {2})", "not({0}) and {1}", "({0} and {1}) or ({2} and {3})"]


@pytest.mark.parametrize("shape", _SHAPES)
def test_condition_code_agrees_with_three_valued_logic(shape):
    import itertools
    schema = {"a": "boolean?", "b": "boolean?", "c": "boolean?", "w": "string"}
    for atoms in itertools.permutations(_ATOMS, 4):
        expr = shape.format(*atoms)
        fast = rules_engine.compile_expression(f'if  {expr}  then "T" else "F"', schema=schema)  # same columns
        slow = rules_engine.compile_expression(f'if ({expr}) = true then "T" else "F"', schema=schema)
        three = rules_engine.compile_expression(expr, schema=schema)
        for a, b, c in itertools.product((True, False, None), repeat=3):
            for w in ("2026-02-01", "bad"):
                ctx = {"a": a, "b": b, "c": c, "w": w}
                got, got_w = fast.evaluate_with_warnings(ctx)
                want, want_w = slow.evaluate_with_warnings(ctx)
                value, _ = three.evaluate_with_warnings(ctx)
                assert got == want == ("T" if value is True else "F"), (expr, ctx)
                assert got_w == want_w, (expr, ctx)  # the same parts evaluated, the same warnings


def test_filter_conditions_use_plain_logic():
    src = rules_engine.compile_expression('count(ds[item > d and (od = null or item < od)])', schema=SCHEMA).source
    assert " if " in src and "(False if" not in src and "(True if" not in src, src


@pytest.mark.parametrize("expr", ["not(a) and x", "x and not(a)", "not(a) or x", "not(not(a))", "not(a) and not(x)",
                                  "not(a) or not(x) or c", "not(x) and b", "not(x) or not(b)", "not(a) and b",
                                  'list contains(tags, "v") and not(a)', "count(tags) > 1 or not(c)",
                                  'list contains(tags, "v") and not(x)'])
def test_typed_logic_values_agree_with_the_runtime(expr):
    # A call typed boolean may still be null (`not(null)`): typed code must not take it for a
    # Python bool (`None and False` is None, FEEL's `null and false` is false).
    import itertools
    schema = {"a": "boolean?", "b": "boolean?", "c": "boolean?", "x": "boolean", "tags": "list(string)"}
    typed = rules_engine.compile_expression(expr, schema=schema)
    dynamic = rules_engine.compile_expression(expr)
    for a, b, c in itertools.product((True, False, None), repeat=3):
        for x, tags in ((True, []), (False, ["v", "w"])):
            ctx = {"a": a, "b": b, "c": c, "x": x, "tags": tags}
            assert typed.evaluate(ctx) == dynamic.evaluate(ctx), (expr, ctx)


CLOCKS = [
    dt.datetime(2026, 10, 15, 10, tzinfo=dt.timezone.utc),
    dt.datetime(2026, 10, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2026, 3, 29, 3, 30, tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Paris")),  # just after DST
    dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.timezone.utc),      # nothing earlier to go to
    dt.datetime(9999, 12, 31, 12, tzinfo=dt.timezone.utc),   # nothing later
]


@pytest.mark.parametrize("clock", CLOCKS, ids=str)
@pytest.mark.parametrize("expr, op, duration", [
    ('now() - duration("P90D")', "sub", dt.timedelta(days=90)),
    ('now() + duration("PT36H")', "add", dt.timedelta(hours=36)),
    ('now() - duration("-P1D")', "sub", dt.timedelta(days=-1)),
])
def test_the_clock_shifted_in_place_is_the_runtime_shift(clock, expr, op, duration):
    """`now() - duration(...)` is computed in place when the clock has a fixed offset and the
    result is in range; everywhere else the runtime does it, warnings and all."""
    from rules_engine import runtime as rt
    compiled = rules_engine.compile_expression(expr)
    assert "_timezone" in compiled.source  # the in-place form was generated
    value, warnings = compiled.evaluate_with_warnings({}, as_of=clock)
    try:
        want = getattr(rt, op)(clock, duration)
    except rt.FeelError:
        want = None
    assert value == want and (value is None or value.utcoffset() == want.utcoffset())
    assert bool(warnings) == (want is None)


@pytest.mark.parametrize("expr", [
    "some x in xs satisfies x > 1", "every x in xs satisfies x > 1", "count(xs[item > 1])",
    "some x in oxs satisfies x > 1", "every x in oxs satisfies x > 1", "xs[item > 1]",
    "some x in xs satisfies x > on", "every x in xs satisfies x != null and x > 1",
])
@pytest.mark.parametrize("xs", [[], [0], [2], [0, 2], [None, 2], [None], None])
def test_loops_over_lists_agree_with_the_untyped_code(expr, xs):
    """Typed lists get shortcuts (an empty list skips the generator; `some`/`every` test the
    truth-only form of the condition); untyped code has neither. Same values, same warnings."""
    schema = {"xs": "list(number?)", "oxs": "list(number)?", "on": "number?"}
    ctx = {"xs": xs if xs is not None else [], "oxs": xs if xs is None or None not in xs else [1], "on": None}
    typed = rules_engine.compile_expression(expr, schema=schema)
    if "xs" in expr.replace("oxs", ""):
        assert " if " in typed.source and "_loop" in typed.source
    got = typed.evaluate_with_warnings(ctx)
    want = rules_engine.compile_expression(expr).evaluate_with_warnings(
        {k: ([None if v is None else Decimal(v) for v in x] if isinstance(x, list) else x) for k, x in ctx.items()})
    assert got[0] == want[0] and bool(got[1]) == bool(want[1])


@pytest.mark.parametrize("clock", CLOCKS, ids=str)
@pytest.mark.parametrize("expr, op, duration", [
    ('today() - duration("P90D")', "sub", dt.timedelta(days=90)),
    ('today() + duration("P2D")', "add", dt.timedelta(days=2)),
])
def test_whole_days_off_today_in_place_are_the_runtime_shift(clock, expr, op, duration):
    from rules_engine import runtime as rt
    compiled = rules_engine.compile_expression(expr)
    assert " if (" in compiled.source  # the in-place form was generated
    value, warnings = compiled.evaluate_with_warnings({}, as_of=clock)
    try:
        want = getattr(rt, op)(clock.date(), duration)
    except rt.FeelError:
        want = None
    assert value == want and bool(warnings) == (want is None)
