"""FEEL run-time values and operators (rules_engine.runtime): table-driven, exact results.

Rows marked ERR must raise FeelError (the caller turns it into null plus a warning). Expected values
come from the DMN TCK (../conformance/feel-core.jsonl) where it has a case.
"""
import decimal
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal as D

import pytest

from feel_values import needs_tzdata, same
from rules_engine import runtime as rt
from rules_engine.runtime import NULL_ENDPOINT, FeelError, Range, YearsMonths

ERR = object()


def v(text):
    """A test value from FEEL-ish text: '@...' temporal literal, '#...' number, else as is."""
    if isinstance(text, str) and text.startswith("@"):
        s = text[1:]
        if s.startswith(("P", "-P")):
            return rt.parse_duration(s)
        if "T" in s.partition("@")[0]:
            return rt.parse_datetime(s)
        if ":" in s:
            return rt.parse_time(s)
        return rt.parse_date(s)
    if isinstance(text, str) and text.startswith("#"):
        return D(text[1:])
    if isinstance(text, list):
        return [v(x) for x in text]
    return text


def check(fn, args, want):
    if want is ERR:
        with pytest.raises(FeelError):
            fn(*args)
    else:
        got = fn(*args)
        assert same(got, want), f"{fn.__name__}{args!r} = {got!r}, want {want!r}"


# -- numbers ---------------------------------------------------------------------------------------
TO_DECIMAL = [
    (1, D(1)), (D("1.10"), D("1.10")), (0.1, D("0.1")), (1e-7, D("1E-7")), ("42.5", D("42.5")),
    ("-3", D(-3)), ("1" * 40, D("1111111111111111111111111111111111E+6")),
    (True, ERR), ("abc", ERR), ("1_000", ERR), (" 1", ERR), (float("nan"), ERR), (float("inf"), ERR),
    ("NaN", ERR), (None, ERR), ([1], ERR),
]


@pytest.mark.parametrize("x,want", TO_DECIMAL)
def test_to_decimal(x, want):
    check(rt.to_decimal, (x,), want)


ARITH = [
    # numbers: exact decimals, 34 significant digits
    (rt.add, "#0.1", "#0.2", D("0.3")),
    (rt.add, "#1.2345", "#2.234", D("3.4685")),
    (rt.add, 10, -5, D(5)),
    (rt.sub, "#1.1234", "#0.2345", D("0.8889")),
    (rt.sub, "#-10", "#-5", D(-5)),
    (rt.mul, "#10", "#-10", D(-100)),
    (rt.mul, "#1.5", "#2", D("3.0")),
    (rt.div, "#1", "#3", D("0.3333333333333333333333333333333333")),
    (rt.div, "#2", "#3", D("0.6666666666666666666666666666666667")),
    (rt.div, "#10", "#-5", D(-2)),
    (rt.div, "#100", "#0", ERR),
    (rt.div, "#0", "#0", ERR),
    (rt.pow, "#10", "#5", D(100000)),
    (rt.pow, "#10", "#-5", D("0.00001")),
    (rt.pow, "#5", "#2.55", D("60.58617166606633673745724928244262")),
    (rt.pow, "#81", "#5", D(3486784401)),             # TCK: 3 ** 4 ** 5 is (3 ** 4) ** 5
    (rt.pow, "#0", "#0", D(1)),
    (rt.pow, "#0", "#-1", ERR),
    (rt.pow, "#10", "#6145", ERR),                 # beyond decimal128's range
    (rt.pow, "#-8", "#0.5", ERR),
    (rt.pow, "@P1D", "#2", ERR),
    (rt.pow, "#2", "a", ERR),
    # null propagates without an error, whatever the other side is
    (rt.add, None, "#1", None), (rt.add, "#1", None, None), (rt.add, None, "a", None),
    (rt.sub, None, "@2021-01-01", None), (rt.mul, None, None, None), (rt.div, "#1", None, None),
    (rt.pow, None, "#2", None),
    # strings
    (rt.add, "foo", "bar", "foobar"),
    (rt.add, "1", "1", "11"),
    (rt.sub, "10", "10", ERR),
    (rt.mul, "10", "#10", ERR),
    # type mismatches
    (rt.add, "10", "#10", ERR), (rt.add, "#10", True, ERR), (rt.add, True, True, ERR),
    (rt.add, [10], [10], ERR), (rt.add, {"a": 1}, "#1", ERR), (rt.add, "@2021-01-01", "@2021-01-01", ERR),
    (rt.add, "#10", "@P1D", ERR), (rt.add, "@P1D", "@P1Y", ERR), (rt.sub, "@P1Y", "@P1D", ERR),
    (rt.add, Range(D(1), D(10)), "#1", ERR), (rt.mul, "@2021-01-01", "#10", ERR),
    (rt.div, "#10", "@P1D", ERR), (rt.div, "@P1D", "@P1Y", ERR), (rt.mul, "@P1D", "@P1D", ERR),
    # durations with numbers
    (rt.mul, "#10", "@P1D", v("@P10D")),
    (rt.mul, "#26", "@PT1H", v("@P1DT2H")),
    (rt.mul, "@P4DT1H", "#1.5", v("@P6DT1H30M")),
    (rt.mul, "@PT23H", "#2.5", v("@P2DT9H30M")),
    (rt.mul, "#0", "@P1D", v("@P0D")),
    (rt.mul, "#-10", "@-P1D", v("@P10D")),
    (rt.mul, "#26", "@P1M", YearsMonths(26)),
    (rt.mul, "#1.5", "@P2M", YearsMonths(3)),
    (rt.mul, "#-2.5", "@P1Y11M", YearsMonths(-57)),   # whole months, truncated toward zero
    (rt.mul, "@P1M", "#0", YearsMonths(0)),
    (rt.div, "@P10Y", "#10", YearsMonths(12)),
    (rt.div, "@P10Y11M", "#2.5", YearsMonths(52)),
    (rt.div, "@P10Y11M", "#-2.5", YearsMonths(-52)),
    (rt.div, "@P10Y", "@P5Y", D(2)),
    (rt.div, "@P10D", "@P5D", D(2)),
    (rt.div, "@PT36H", "@P1D", D("1.5")),
    (rt.div, "@P10DT23H", "#2.5", v("@P4DT9H12M")),
    (rt.div, "@P10D", "#0", ERR), (rt.div, "@P10Y", "#0", ERR),
    (rt.div, "@P10D", "@P0D", ERR), (rt.div, "@P10Y", "@P0Y", ERR),
    # durations with durations
    (rt.add, "@P1Y", "@-P2M", YearsMonths(10)),
    (rt.add, "@PT24H", "@P1D", v("@P2D")),
    (rt.sub, "@-P1D", "@PT2H", v("@-P1DT2H")),
    (rt.sub, "@P1Y", "@-P2M", YearsMonths(14)),
    # date and time plus/minus durations
    (rt.add, "@2021-01-01T10:10:10", "@P1Y", v("@2022-01-01T10:10:10")),
    (rt.add, "@P1M", "@2021-01-01T10:10:10+11:00", v("@2021-02-01T10:10:10+11:00")),
    (rt.add, "@2021-01-31T10:00:00", "@P1M", v("@2021-02-28T10:00:00")),  # clamped to the month's end
    (rt.add, "@2021-01-12T10:10:10", "@P1DT1H", v("@2021-01-13T11:10:10")),
    (rt.add, "@2021-01-01T24:00:00", "@-PT1S", v("@2021-01-01T23:59:59")),
    (rt.sub, "@2021-01-01T10:10:10", "@-P1M", v("@2021-02-01T10:10:10")),
    (rt.sub, "@2021-01-02T00:00:00", "@PT1H", v("@2021-01-01T23:00:00")),
    (rt.add, "@9999-12-31T00:00:00", "@P1D", ERR),
    (rt.add, "@9999-12-01", "@P1M", ERR),
    # date plus/minus durations: the result is a date
    (rt.add, "@2021-01-01", "@P1Y", v("@2022-01-01")),
    (rt.add, "@P1M", "@2021-01-01", v("@2021-02-01")),
    (rt.add, "@2021-01-01", "@PT36H", v("@2021-01-02")),
    (rt.add, "@PT48H", "@2021-01-01", v("@2021-01-03")),
    (rt.sub, "@2021-01-02", "@PT1S", v("@2021-01-01")),
    (rt.sub, "@2021-01-02", "@-PT1H", v("@2021-01-02")),
    (rt.sub, "@2021-01-02", "@PT25H", v("@2020-12-31")),
    (rt.sub, "@2020-03-01", "@PT24H", v("@2020-02-29")),
    (rt.sub, "@2021-01-02", "@P1M", v("@2020-12-02")),
    # time plus/minus days-time durations wraps around midnight; years-months is an error
    (rt.add, "@10:15:00", "@PT1H", v("@11:15:00")),
    (rt.add, "@P1D", "@10:15:00+11:00", v("@10:15:00+11:00")),
    (rt.add, "@23:30:00", "@PT1H", v("@00:30:00")),
    (rt.sub, "@10:10:10", "@PT1H", v("@09:10:10")),
    (rt.add, "@10:10:10", "@P1Y", ERR),
    (rt.sub, "@10:10:10", "@P1Y", ERR),
    # temporal minus temporal
    (rt.sub, "@2021-01-02", "@1995-01-01", v("@P9498D")),
    (rt.sub, "@2021-01-02T10:10:10", "@2021-01-01T10:10:10", v("@P1D")),
    (rt.sub, "@2021-01-02T00:00:00Z", "@2021-01-02", v("@P0D")),          # a date is midnight UTC
    (rt.sub, "@2021-01-02T10:10:10+01:00", "@2021-01-01", v("@P1DT9H10M10S")),
    (rt.sub, "@2021-01-02", "@2021-01-01T10:10:10+11:00", v("@P1DT49M50S")),
    (rt.sub, "@2021-01-02T10:10:10+02:00", "@2021-01-01T10:10:10", ERR),  # offset vs local
    (rt.sub, "@2021-01-01T00:00:00", "@2021-01-02", ERR),
    (rt.sub, "@2021-01-02", "@2021-01-01T10:10:10", ERR),
    (rt.sub, "@10:10:10", "@11:10:10", v("@-PT1H")),
    (rt.sub, "@10:10:10+11:00", "@09:10:10+11:00", v("@PT1H")),
    (rt.sub, "@10:00:00+01:00", "@09:00:00Z", v("@P0D")),
    (rt.sub, "@10:10:10", "@09:10:10Z", ERR),
    (rt.sub, "@P1D", "@2021-01-01", ERR),
    (rt.sub, "@2021-01-01", "@10:10:10", ERR),
]


@pytest.mark.parametrize("fn,a,b,want", ARITH)
def test_arithmetic(fn, a, b, want):
    check(fn, (v(a), v(b)), want)


NEG = [
    ("#5", D(-5)), ("#-0.5", D("0.5")), ("@P1D", v("@-P1D")), ("@-P1Y2M", YearsMonths(14)),
    (None, None), ("a", ERR), (True, ERR), ("@2021-01-01", ERR),
]


@pytest.mark.parametrize("a,want", NEG)
def test_neg(a, want):
    check(rt.neg, (v(a),), want)


def test_arithmetic_ignores_the_thread_decimal_context():
    with decimal.localcontext() as ctx:
        ctx.prec = 5
        ctx.rounding = decimal.ROUND_FLOOR
        assert rt.div(D(2), D(3)) == D("0.6666666666666666666666666666666667")
        assert rt.mul(D("1.23456789"), D(1)) == D("1.23456789")


def test_int_and_float_operands_are_numbers():
    assert same(rt.add(1, D("0.5")), D("1.5"))
    assert same(rt.mul(0.1, 3), D("0.3"))


@needs_tzdata
@pytest.mark.parametrize("a,b,want", [
    ("@2021-01-02T10:10:10@Europe/Paris", "@2021-01-01T10:10:10@Asia/Dhaka", "@P1DT5H"),
    ("@2021-01-02T10:10:10@Europe/Paris", "@1995-01-01T10:10:10@Europe/Paris", "@P9498D"),
    ("@2021-01-02T10:10:10+01:00", "@2021-01-01T10:10:10@Europe/Paris", "@P1D"),
    ("@2021-01-02", "@2021-01-01T10:10:10@Australia/Melbourne", "@P1DT49M50S"),
    # across the DST change the elapsed time is 23 hours
    ("@2021-03-29T00:00:00@Europe/Paris", "@2021-03-28T00:00:00@Europe/Paris", "@PT23H"),
    ("@2021-01-02T10:10:10@Europe/Paris", "@2021-01-01T10:10:10", ERR),
])
def test_zoned_subtraction(a, b, want):
    check(rt.sub, (v(a), v(b)), v(want))


@needs_tzdata
def test_zoned_addition_keeps_the_zone_and_adds_elapsed_time():
    t = v("@2021-01-01T10:10:10@Australia/Melbourne")
    assert rt.format_value(rt.add(t, v("@P1M"))) == "2021-02-01T10:10:10@Australia/Melbourne"
    assert rt.format_value(rt.add(t, v("@-PT1H"))) == "2021-01-01T09:10:10@Australia/Melbourne"
    # 24 hours after noon the day before the spring DST change is 13:00 local time
    noon = v("@2021-03-27T12:00:00@Europe/Paris")
    assert rt.format_value(rt.add(noon, v("@PT24H"))) == "2021-03-28T13:00:00@Europe/Paris"
    assert rt.format_value(rt.add(noon, v("@P1D"))) == "2021-03-28T13:00:00@Europe/Paris"
    assert rt.format_value(rt.add(v("@10:15:00@Australia/Melbourne"), v("@-PT1H"))) == "09:15:00@Australia/Melbourne"


# -- comparison ------------------------------------------------------------------------------------
COMPARE = [
    # fn, a, b, want
    (rt.eq, "#1", "#1.0", True), (rt.eq, "#0.3", rt.add(D("0.1"), D("0.2")), True), (rt.ne, "#1", "#2", True),
    (rt.eq, "a", "a", True), (rt.eq, "a", "A", False), (rt.eq, True, True, True), (rt.eq, True, False, False),
    (rt.eq, None, None, True), (rt.eq, None, "#1", False), (rt.eq, "#1", None, False), (rt.ne, None, "#1", True),
    (rt.ne, None, None, False),
    (rt.eq, "a", "#1", ERR), (rt.eq, True, "#1", ERR), (rt.ne, "#1", "1", ERR), (rt.eq, [1], "#1", ERR),
    (rt.eq, "@2018-12-08", "@2018-12-08", True),
    (rt.eq, "@2018-12-08T10:30:00", "@2018-12-08T10:30:00", True),
    (rt.eq, "@2018-12-08T10:30:00+01:00", "@2018-12-08T09:30:00Z", True),
    (rt.eq, "@2018-12-08T00:00:00Z", "@2018-12-08", True),
    (rt.eq, "@2018-12-08T10:30:00", "@2018-12-08T10:30:00Z", ERR),
    (rt.eq, "@10:30:00", "@10:30:00", True), (rt.eq, "@10:30:00+01:00", "@09:30:00Z", True),
    (rt.eq, "@10:30:00", "@10:30:00Z", ERR),
    (rt.eq, "@P1Y", "@P12M", True), (rt.eq, "@P1D", "@PT24H", True),
    (rt.eq, "@P0D", "@P0Y", True), (rt.eq, "@P1D", "@P1Y", False),
    (rt.eq, "@P1D", "#1", ERR),
    # lists and contexts element-wise
    (rt.eq, [D(1), D(2)], [D("1.0"), D(2)], True), (rt.eq, [D(1)], [D(1), D(2)], False),
    (rt.eq, [D(1), D(2)], [D(1), D(3)], False), (rt.eq, [D(1), "a"], [D(1), D(2)], None),
    (rt.eq, [], [], True), (rt.eq, [[D(1)]], [[D(1)]], True), (rt.eq, [None], [None], True),
    (rt.eq, {"a": D(1), "b": "x"}, {"b": "x", "a": D("1.0")}, True),
    (rt.eq, {"a": D(1)}, {"a": D(1), "b": None}, False),
    (rt.ne, {"a": D(1)}, {"a": D(2)}, True),
    (rt.eq, Range(D(1), D(10)), Range(D("1.0"), D(10)), True),
    (rt.eq, Range(D(1), D(10)), Range(D(1), D(10), False, True), False),
    (rt.eq, Range(None, D(10), False, False), Range(None, D(10), False, False), True),
    # ordering
    (rt.lt, "#1", "#2", True), (rt.le, "#2", "#2.0", True), (rt.gt, "#-1", "#-2", True), (rt.ge, "#1", "#2", False),
    (rt.lt, "a", "b", True), (rt.lt, "B", "a", True), (rt.gt, "ab", "a", True),
    (rt.lt, "@2018-12-01", "@2018-12-02", True),
    (rt.lt, "@2018-12-01T23:00:00", "@2018-12-02T00:00:00", True),
    (rt.gt, "@2018-12-01T23:00:00-02:00", "@2018-12-02T00:00:00Z", True),
    (rt.lt, "@2018-12-01", "@2018-12-01T10:00:00Z", True),
    (rt.lt, "@2018-12-01", "@2018-12-01T10:00:00", ERR),
    (rt.lt, "@10:00:00", "@11:00:00", True), (rt.lt, "@10:00:00+02:00", "@09:00:00Z", True),
    (rt.lt, "@P1Y", "@P13M", True), (rt.ge, "@P1D", "@PT24H", True), (rt.lt, "@P1D", "@P1Y", ERR),
    (rt.lt, None, "#1", None), (rt.ge, "#1", None, None), (rt.lt, None, None, None),
    (rt.lt, "a", "#1", ERR), (rt.gt, "#1", "a", ERR), (rt.lt, True, False, ERR), (rt.lt, [1], [2], ERR),
    (rt.lt, {"a": 1}, {"a": 2}, ERR), (rt.lt, "@2018-12-01", "@10:00:00", ERR),
]


@pytest.mark.parametrize("fn,a,b,want", COMPARE)
def test_compare(fn, a, b, want):
    check(fn, (v(a), v(b)), want)


BETWEEN = [
    ("#5", "#1", "#10", True), ("#1", "#1", "#10", True), ("#11", "#1", "#10", False), ("a", "b", "d", False),
    ("@2018-12-03", "@2018-12-02", "@2018-12-04", True), ("@P3Y", "@P2Y", "@P4Y", True),
    (None, "#1", "#10", None), ("#2", None, "#10", None), ("#11", None, "#10", False), ("#2", "#1", None, None),
    ("a", "#1", "#10", ERR),
]


@pytest.mark.parametrize("x,lo,hi,want", BETWEEN)
def test_between(x, lo, hi, want):
    check(rt.between, (v(x), v(lo), v(hi)), want)


LOGIC = [
    (rt.and_, True, True, True), (rt.and_, True, None, None), (rt.and_, False, None, False),
    (rt.and_, None, False, False), (rt.and_, True, D(123), None), (rt.and_, D(0), False, False),
    (rt.or_, False, False, False), (rt.or_, False, None, None), (rt.or_, None, True, True),
    (rt.or_, "true", False, None),
]


@pytest.mark.parametrize("fn,a,b,want", LOGIC)
def test_three_valued_logic(fn, a, b, want):
    check(fn, (a, b), want)


# -- unary tests and ranges ------------------------------------------------------------------------
R = rt.range_of

IN_TEST = [
    ("#1", [D(2), D(3), D(1)], True), ("#1", [D(2), D(3), D(4)], False),
    ("#1", [R(D(2), D(4), True, True), R(D(1), D(3), True, True)], True),
    ("#5", [R(D(2), D(4), True, True), R(D(1), D(3), True, True)], False),
    ("#1", R(D(2), D(4), False, False), False), ("#2", R(D(2), D(4), False, False), False),
    ("#3", R(D(2), D(4), False, False), True), ("#4", R(D(2), D(4), False, True), True),
    ("#2", R(D(2), D(4), True, False), True), ("#4", R(D(2), D(4), True, False), False),
    ("#1", D(1), True), ("#1.0", D(1), True), ("a", "a", True), ("a", "b", False),
    ("c", R("b", "d", False, False), True), ("d", R("b", "d", False, True), True),
    (True, [False, D(2), D(3)], False),           # TCK: other kinds just do not match
    ("#1", ["a", D(1)], True),
    ("@2018-12-11", [R(v("@2018-12-05"), v("@2018-12-07"), True, True),
                     R(v("@2018-12-10"), v("@2018-12-12"), True, True)], True),
    ("@10:30:11", [v("@10:30:08"), v("@10:30:11")], True),
    ("@P11Y", [R(v("@P5Y"), v("@P7Y"), True, True), R(v("@P10Y"), v("@P12Y"), True, True)], True),
    ("@P5D", R(v("@P2D"), v("@P4D"), True, True), False),
    ([D(1), D(2), D(3)], [[D(1), D(2), D(3), D(4)], [D(1), D(2), D(3)]], True),
    ([D(1), D(2), D(2)], [[D(1), D(2), D(3)], [D(1), D(2), D(3), D(4)]], False),
    ({"a": "foo"}, [{"b": "bar"}, {"a": "foo"}], True),
    ({"c": "baz"}, [{"b": "bar"}, {"a": "foo"}], False),
    # open-ended ranges (unary tests) and null
    ("#1", Range(None, D(10), False, True), True), ("#10", Range(None, D(10), False, False), False),
    ("#10", Range(D(10), None, True, False), True), ("#9", Range(D(10), None, True, False), False),
    (None, R(D(1), D(10), True, True), None),
    ("#5", R(None, D(10), False, True), None),    # TCK: 5 in (null..10] is null
    ("#5", R(D(1), None, True, True), None),
    (None, [D(1), D(2)], False), (None, [D(1), None], True),
    ("#5", [R(None, D(10), False, True)], None),
    ("a", R(D(1), D(10), True, True), ERR),
    ("a", [R(D(1), D(10), True, True)], False),
]


@pytest.mark.parametrize("x,test,want", IN_TEST)
def test_in_test(x, test, want):
    check(rt.in_test, (v(x), test), want)


RANGE_OF = [
    ((D(1), D(10), True, False), Range(D(1), D(10), True, False)),
    (("a", "c", False, True), Range("a", "c", False, True)),
    ((v("@2018-12-01"), v("@2018-12-04"), True, True), Range(v("@2018-12-01"), v("@2018-12-04"))),
    ((None, D(10), True, True), Range(NULL_ENDPOINT, D(10))),
    ((D(1), "b", True, True), ERR), ((v("@2018-12-01"), v("@10:00:00"), True, True), ERR),
    ((True, False, True, True), ERR), (([1], [2], True, True), ERR),
    ((v("@P1D"), v("@P1Y"), True, True), ERR),
]


@pytest.mark.parametrize("args,want", RANGE_OF)
def test_range_of(args, want):
    check(rt.range_of, args, want)


UNARY_RANGE = [
    (("<", D(10)), Range(None, D(10), False, False)), (("<=", D(10)), Range(None, D(10), False, True)),
    ((">", D(10)), Range(D(10), None, False, False)), ((">=", D(10)), Range(D(10), None, True, False)),
    (("=", D(10)), Range(D(10), D(10), True, True)),
    (("<", None), ERR), (("!=", D(1)), ERR), (("<", True), ERR),
]


@pytest.mark.parametrize("args,want", UNARY_RANGE)
def test_unary_range(args, want):
    check(rt.unary_range, args, want)


RANGE_ITEMS = [
    (R(D(1), D(3), True, True), [D(1), D(2), D(3)]), (R(D(1), D(3), False, False), [D(2)]),
    (R(D(3), D(1), True, True), [D(3), D(2), D(1)]), (R(D(1), D(1), True, False), []),
    ([D(7)], [D(7)]), (None, None),
    (R(D("1.5"), D(3), True, True), ERR), (R("a", "c", True, True), ERR),
    (R(D(1), D(10) ** 9, True, True), ERR), (R(None, D(3), True, True), ERR),
]


@pytest.mark.parametrize("r,want", RANGE_ITEMS)
def test_range_items(r, want):
    check(rt.range_items, (r,), want)


# -- indexing and paths ----------------------------------------------------------------------------
LST = [D(1), D(2), D(3)]
INDEX = [
    (LST, D(1), D(1)), (LST, D(3), D(3)), (LST, D(-1), D(3)), (LST, D(-3), D(1)),
    (LST, D(0), None), (LST, D(4), None), (LST, D(-4), None), (LST, D("2.7"), D(2)),
    ("foo", D(1), "foo"), (D(100), D(1), D(100)), (True, D(0), None), ([], D(1), None),
    (None, D(1), None), (LST, None, None), (LST, "1", ERR), (LST, True, ERR),
]


@pytest.mark.parametrize("lst,n,want", INDEX)
def test_index(lst, n, want):
    check(rt.index, (lst, n), want)


PROPS = [
    ({"a": "foo"}, "a", "foo"), ({"a": "foo"}, "b", None), (None, "b", None),
    ([{"x": D(1), "y": D(2)}, {"x": D(2), "y": D(3)}], "y", [D(2), D(3)]),
    ([{"x": D(1)}, {"y": D(2)}], "y", [None, D(2)]),
    ([{"a": {"b": D(1)}}, {"a": {"b": [D(2)]}}], "a", [{"b": D(1)}, {"b": [D(2)]}]),
    ("@2018-12-10", "year", D(2018)), ("@2018-12-10", "month", D(12)), ("@2018-12-10", "day", D(10)),
    ("@2018-12-10", "weekday", D(1)), ("@2018-12-10", "hour", ERR),
    ("@2018-12-10T10:30:01", "year", D(2018)), ("@2018-12-10T10:30:01", "weekday", D(1)),
    ("@2018-12-10T10:30:01", "hour", D(10)), ("@2018-12-10T10:30:01", "minute", D(30)),
    ("@2018-12-10T10:30:01", "second", D(1)), ("@2018-12-10T10:30:01.5", "second", D("1.5")),
    ("@2018-12-10", "second", ERR),
    ("@2018-12-10T10:30:00+05:00", "time offset", v("@PT5H")),
    ("@2018-12-10T10:30:00-01:30", "time_offset", v("@-PT1H30M")),
    ("@2018-12-10T10:30:00", "time offset", None), ("@2018-12-10T10:30:00", "timezone", None),
    ("@10:30:01", "hour", D(10)), ("@10:30:01", "minute", D(30)), ("@10:30:01", "second", D(1)),
    ("@10:30:00+05:00", "time offset", v("@PT5H")), ("@10:30:00", "time offset", None),
    ("@10:30:00", "timezone", None), ("@10:30:00", "year", ERR),
    ("@P1Y2M", "years", D(1)), ("@P1Y2M", "months", D(2)), ("@P2M", "years", D(0)), ("@P1Y", "months", D(0)),
    ("@-P1Y2M", "years", D(-1)), ("@-P1Y2M", "months", D(-2)),
    ("@P1Y", "days", ERR), ("@P1D", "years", ERR), ("@P1D", "months", ERR),
    ("@P1D", "days", D(1)), ("@PT2H", "days", D(0)), ("@PT2H", "hours", D(2)), ("@P1D", "hours", D(0)),
    ("@PT2M", "minutes", D(2)), ("@PT2S", "seconds", D(2)), ("@P1DT25H61M", "hours", D(2)),
    ("@-PT90.5S", "seconds", D("-30.5")), ("@-PT90.5S", "minutes", D(-1)),
    (Range(D(1), D(10), False, True), "start", D(1)), (Range(D(1), D(10), False, True), "end", D(10)),
    (Range(D(1), D(10), False, True), "start included", False),
    (Range(D(1), D(10), False, True), "end_included", True),
    (Range(None, D(10), False, False), "start", None), (Range(NULL_ENDPOINT, D(10)), "start", None),
    ("foo", "length", ERR), (D(1), "a", ERR), (True, "a", ERR), ([D(1)], "a", ERR),
]


@pytest.mark.parametrize("value,name,want", PROPS)
def test_get_property(value, name, want):
    check(rt.get_property, (v(value), name), want)


@needs_tzdata
def test_zone_properties():
    t = v("@2018-12-10T10:30:00@Etc/UTC")
    assert rt.get_property(t, "timezone") == "Etc/UTC"
    assert rt.get_property(v("@2018-07-10T10:30:00@Europe/Paris"), "time offset") == timedelta(hours=2)
    assert rt.get_property(v("@10:30:00@Europe/Paris"), "timezone") == "Europe/Paris"


@pytest.mark.parametrize("x,want", [(True, True), (False, False), (None, None), (D(1), ERR), ("true", ERR), ([], ERR)])
def test_to_bool_test(x, want):
    check(rt.to_bool_test, (x,), want)


# -- parsing ---------------------------------------------------------------------------------------
UTC = timezone.utc
PARSE = [
    (rt.parse_date, "2017-12-31", date(2017, 12, 31)), (rt.parse_date, "0001-01-01", date(1, 1, 1)),
    (rt.parse_date, "2012-12-25T", ERR), (rt.parse_date, "", ERR), (rt.parse_date, "2012/12/25", ERR),
    (rt.parse_date, "0000-12-25", ERR), (rt.parse_date, "9999999999-12-25", ERR), (rt.parse_date, "2017-13-10", ERR),
    (rt.parse_date, "2017-12-32", ERR), (rt.parse_date, "998-12-31", ERR), (rt.parse_date, "01211-12-31", ERR),
    (rt.parse_date, "+2012-12-02", ERR), (rt.parse_date, "-2017-12-31", ERR),  # negative years: unsupported
    (rt.parse_date, "2017-02-29", ERR), (rt.parse_date, 20171231, ERR),
    (rt.parse_time, "01:02:03", time(1, 2, 3)), (rt.parse_time, "11:22:33.444", time(11, 22, 33, 444000)),
    (rt.parse_time, "11:22:33.123456789", time(11, 22, 33, 123456)),
    (rt.parse_time, "23:59:00Z", time(23, 59, tzinfo=UTC)),
    (rt.parse_time, "11:22:33-00:00", time(11, 22, 33, tzinfo=UTC)),
    (rt.parse_time, "13:20:00+02:00", time(13, 20, tzinfo=timezone(timedelta(hours=2)))),
    (rt.parse_time, "13:20:00-05:30", time(13, 20, tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
    (rt.parse_time, "24:00:00", time(0, 0)),
    (rt.parse_time, "23:59:60", ERR), (rt.parse_time, "24:00:01", ERR), (rt.parse_time, "25:00:00", ERR),
    (rt.parse_time, "00:60:00", ERR), (rt.parse_time, "7:00:00", ERR), (rt.parse_time, "07:1:00", ERR),
    (rt.parse_time, "07:20", ERR), (rt.parse_time, "13:20:00@xyz/abc", ERR), (rt.parse_time, "13:20:00+19:00", ERR),
    (rt.parse_time, "13:20:00+5:00", ERR), (rt.parse_time, "13:20:00+02:00@Europe/Paris", ERR),
    (rt.parse_time, "11:30:00T", ERR), (rt.parse_time, "", ERR), (rt.parse_time, "13:20:00@../../etc", ERR),
    (rt.parse_datetime, "2016-12-24T23:59:00-08:00",
     datetime(2016, 12, 24, 23, 59, tzinfo=timezone(timedelta(hours=-8)))),
    (rt.parse_datetime, "2018-12-10", datetime(2018, 12, 10)),
    (rt.parse_datetime, "2017-08-14T14:25:00.123456789", datetime(2017, 8, 14, 14, 25, 0, 123456)),
    (rt.parse_datetime, "2021-01-01T24:00:00", datetime(2021, 1, 2)),
    (rt.parse_datetime, "2012-12-25T11:00:00Z", datetime(2012, 12, 25, 11, tzinfo=UTC)),
    (rt.parse_datetime, "2012-12-25T", ERR), (rt.parse_datetime, "2012T-12-2511:00:00Z", ERR),
    (rt.parse_datetime, "2012-12-25 11:00:00", ERR), (rt.parse_datetime, "9999-12-31T24:00:00", ERR),
    (rt.parse_datetime, None, ERR),
    (rt.parse_duration, "P1Y2M", YearsMonths(14)), (rt.parse_duration, "-P3M", YearsMonths(-3)),
    (rt.parse_duration, "P0Y", YearsMonths(0)), (rt.parse_duration, "P90D", timedelta(days=90)),
    (rt.parse_duration, "PT36H", timedelta(hours=36)), (rt.parse_duration, "-P1D", timedelta(days=-1)),
    (rt.parse_duration, "P13DT2H14S", timedelta(days=13, hours=2, seconds=14)),
    (rt.parse_duration, "PT2H1M0S", timedelta(hours=2, minutes=1)),
    (rt.parse_duration, "PT1.5S", timedelta(seconds=1.5)), (rt.parse_duration, "P0D", timedelta(0)),
    (rt.parse_duration, "P", ERR), (rt.parse_duration, "PT", ERR), (rt.parse_duration, "P1DT", ERR),
    (rt.parse_duration, "P1Y2D", ERR), (rt.parse_duration, "1D", ERR), (rt.parse_duration, "P1.5D", ERR),
    (rt.parse_duration, "P1W", ERR), (rt.parse_duration, "+P1D", ERR), (rt.parse_duration, "P9999999999D", ERR),
    (rt.parse_duration, "", ERR),
]


@pytest.mark.parametrize("fn,text,want", PARSE)
def test_parse(fn, text, want):
    check(fn, (text,), want)


@needs_tzdata
def test_parse_zone_ids():
    t = rt.parse_datetime("2017-09-03T09:45:30@Europe/Paris")
    assert t.utcoffset() == timedelta(hours=2) and t.tzinfo.key == "Europe/Paris"
    assert rt.parse_time("00:01:00@Etc/UTC").tzinfo.key == "Etc/UTC"


# -- formatting ------------------------------------------------------------------------------------
FORMAT = [
    (None, "null"), (True, "true"), (False, "false"), ("a\"b", "a\"b"),
    (D("1.10"), "1.1"), (D("1E+2"), "100"), (D("-0"), "0"), (D("0.000"), "0"), (D("1E-7"), "0.0000001"),
    (D("2"), "2"), (D("-12.50"), "-12.5"), (1, "1"), (0.1, "0.1"),
    ("@2017-12-31", "2017-12-31"), ("@0999-01-02", "0999-01-02"),
    ("@2017-12-24T23:59:00-08:00", "2017-12-24T23:59:00-08:00"), ("@2021-01-02T00:00:00Z", "2021-01-02T00:00:00Z"),
    ("@2017-08-14T14:25:00.1200", "2017-08-14T14:25:00.12"), ("@2017-08-14T14:25:00", "2017-08-14T14:25:00"),
    ("@11:22:33.444", "11:22:33.444"), ("@11:22:33+00:00", "11:22:33Z"), ("@10:00:00-01:30", "10:00:00-01:30"),
    (time(11, 59, 45, tzinfo=timezone(timedelta(hours=2, minutes=45, seconds=55))), "11:59:45+02:45:55"),
    ("@P1DT2H", "P1DT2H"), ("@PT0H", "PT0S"), ("@-P1D", "-P1D"), ("@PT36H", "P1DT12H"), ("@PT1.5S", "PT1.5S"),
    ("@P1Y2M", "P1Y2M"), ("@-P3M", "-P3M"), ("@P0Y", "P0M"), ("@P24M", "P2Y"),
    ([D(1), "a", None, [True]], '[1, "a", null, [true]]'),
    ({"a": D(1), "b c": "x", "d": {}}, '{a: 1, "b c": "x", d: {}}'),
    (Range(D(1), D(10), True, False), "[1..10)"), (Range("a", "c", False, True), '("a".."c"]'),
    (Range(None, D(10), False, True), "<= 10"), (Range(D(10), None, False, False), "> 10"),
    (Range(NULL_ENDPOINT, D(10), False, True), "(null..10]"),
]


@pytest.mark.parametrize("value,want", FORMAT)
def test_format_value(value, want):
    assert rt.format_value(v(value)) == want


@needs_tzdata
def test_format_zone_ids():
    assert rt.format_value(v("@2017-09-03T09:45:30@Europe/Paris")) == "2017-09-03T09:45:30@Europe/Paris"
    assert rt.format_value(v("@00:01:00@Etc/UTC")) == "00:01:00@Etc/UTC"


TO_JSON = [
    (D("1.0"), 1), (D("1.5"), 1.5), (D("-3"), -3), (True, True), (None, None), ("x", "x"),
    (v("@2017-12-31"), "2017-12-31"), (v("@P1DT2H"), "P1DT2H"), (YearsMonths(14), "P1Y2M"),
    (v("@10:00:00Z"), "10:00:00Z"), (Range(D(1), D(2)), "[1..2]"),
    ([D(1), {"a": D("2.5"), "b": [v("@2020-01-01")]}], [1, {"a": 2.5, "b": ["2020-01-01"]}]),
]


@pytest.mark.parametrize("value,want", TO_JSON)
def test_to_json(value, want):
    got = rt.to_json(value)
    assert got == want and type(got) is type(want)


# -- values ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("months,text,years,part", [
    (14, "P1Y2M", 1, 2), (-3, "-P3M", 0, -3), (0, "P0M", 0, 0), (-14, "-P1Y2M", -1, -2), (24, "P2Y", 2, 0),
])
def test_years_months(months, text, years, part):
    ym = YearsMonths(months)
    assert (str(ym), ym.years, ym.months_part) == (text, years, part)


def test_years_months_order_and_equality():
    assert YearsMonths(12) == YearsMonths(12) and YearsMonths(11) < YearsMonths(12)
    assert sorted([YearsMonths(3), YearsMonths(-1)]) == [YearsMonths(-1), YearsMonths(3)]
    with pytest.raises(TypeError):
        YearsMonths(1.5)
