"""FEEL run-time values and operators (pure functions over plain Python values).

Values:

| FEEL                       | Python                                                      |
|----------------------------|-------------------------------------------------------------|
| number                     | `decimal.Decimal` (int and float are accepted as input)     |
| string, boolean, null      | `str`, `bool`, `None`                                       |
| list, context              | `list`, `dict` (insertion ordered)                          |
| date                       | `datetime.date`                                             |
| date and time              | `datetime.datetime` (naive = local date-time, no offset)    |
| time                       | `datetime.time` (naive or with an offset / zone)            |
| days and time duration     | `datetime.timedelta`                                        |
| years and months duration  | `YearsMonths`                                               |
| range                      | `Range`                                                     |

A FEEL run-time error (a type mismatch, division by zero, a bad date string...) raises `FeelError`
with a message saying what was expected and what was got; the caller turns it into null plus a
recorded warning. A null operand gives null without raising, as FEEL says.

All arithmetic goes through `CTX` (34 significant digits, like FEEL's decimal128), never through
the thread's global decimal context. Limits of the Python representation: years 1..9999 only, and
fractions of a second beyond microseconds are truncated.
"""
from __future__ import annotations

import calendar
import decimal
import functools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "CTX", "FeelError", "YearsMonths", "Range", "NULL_ENDPOINT", "to_decimal", "type_name",
    "add", "sub", "mul", "div", "pow", "neg",
    "eq", "ne", "lt", "le", "gt", "ge", "between", "and_", "or_",
    "in_test", "range_of", "unary_range", "range_items", "index", "get_property", "to_bool_test",
    "parse_date", "parse_datetime", "parse_time", "parse_duration", "format_value", "to_json",
]

CTX = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN, Emax=6144, Emin=-6143,
                      traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])

# Iterating `for i in 1..n` materialises the range; beyond this it is an error, not a hang.
MAX_RANGE_ITEMS = 1_000_000


class FeelError(Exception):
    """A FEEL run-time error: the expression's value becomes null and the message a warning."""


@dataclass(frozen=True, order=True)
class YearsMonths:
    """A FEEL years and months duration, held as a signed total number of months."""
    months: int

    def __post_init__(self):
        if not isinstance(self.months, int) or isinstance(self.months, bool):
            raise TypeError(f"YearsMonths.months must be an int, got {type(self.months).__name__}")

    @property
    def years(self) -> int:
        """Whole years, with the duration's sign (`-P1Y2M` -> -1)."""
        return -(-self.months // 12) if self.months < 0 else self.months // 12

    @property
    def months_part(self) -> int:
        """Months beyond the whole years, with the duration's sign (`-P1Y2M` -> -2)."""
        return self.months - 12 * self.years

    def __str__(self) -> str:
        y, m = divmod(abs(self.months), 12)
        body = (f"{y}Y" if y else "") + (f"{m}M" if m or not y else "")
        return ("-P" if self.months < 0 else "P") + body


class _NullEndpoint:
    """The endpoint of a range literal whose expression was null (`[1..x]`, x null): unlike an open
    end (None), nothing is known about it, so containment is null (TCK: `5 in (null..10]`)."""
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ENDPOINT"


NULL_ENDPOINT = _NullEndpoint()


@dataclass(frozen=True)
class Range:
    """A FEEL range. An endpoint of None means open-ended, as in the unary test `< 10`;
    `NULL_ENDPOINT` means the endpoint's expression was null."""
    start: Any
    end: Any
    start_incl: bool = True
    end_incl: bool = True

    def contains(self, x) -> "bool | None":
        """Is `x` in the range? None when `x` or an endpoint is null; FeelError when `x` cannot
        be compared with the endpoints."""
        if x is None or self.start is NULL_ENDPOINT or self.end is NULL_ENDPOINT:
            return None
        if self.start is not None:
            c = _compare(x, self.start)
            if c < 0 or (c == 0 and not self.start_incl):
                return False
        if self.end is not None:
            c = _compare(x, self.end)
            if c > 0 or (c == 0 and not self.end_incl):
                return False
        return True

    def __str__(self) -> str:
        return format_value(self)


# -- kinds and numbers -----------------------------------------------------------------------------
NUMBER, STRING, BOOLEAN, NULL = "number", "string", "boolean", "null"
DATE, DATETIME, TIME = "date", "date and time", "time"
DT_DURATION, YM_DURATION = "days and time duration", "years and months duration"
LIST, CONTEXT, RANGE = "list", "context", "range"
_DURATIONS = (DT_DURATION, YM_DURATION)
_TEMPORALS = (DATE, DATETIME, TIME)


def type_name(v) -> str:
    """The FEEL kind of a run-time value, as used in error messages ("number", "date and time"...)."""
    kind = _KINDS.get(v.__class__)  # every operator asks: one lookup for the exact built-in types
    if kind is not None:
        return kind
    if v is None:
        return NULL
    if isinstance(v, bool):
        return BOOLEAN
    if isinstance(v, (Decimal, int, float)):
        return NUMBER
    if isinstance(v, str):
        return STRING
    if isinstance(v, datetime):  # before date: datetime is a subclass of date
        return DATETIME
    if isinstance(v, date):
        return DATE
    if isinstance(v, time):
        return TIME
    if isinstance(v, timedelta):
        return DT_DURATION
    if isinstance(v, YearsMonths):
        return YM_DURATION
    if isinstance(v, list):
        return LIST
    if isinstance(v, dict):
        return CONTEXT
    if isinstance(v, Range):
        return RANGE
    return type(v).__name__


_KINDS = {type(None): NULL, bool: BOOLEAN, Decimal: NUMBER, int: NUMBER, float: NUMBER, str: STRING,
          datetime: DATETIME, date: DATE, time: TIME, timedelta: DT_DURATION, YearsMonths: YM_DURATION,
          list: LIST, dict: CONTEXT, Range: RANGE}


_NUMBER_TEXT = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


_SIGNALS = ((decimal.DivisionByZero, "division by zero"),
            (decimal.Overflow, "number too large (beyond 34-digit decimal range)"),
            (decimal.InvalidOperation, "invalid arithmetic operation"))


def describe_error(e: BaseException) -> str:
    """What went wrong in a warning's words: FEEL errors as they are, a decimal signal (raised by
    typed arithmetic that skips the runtime's checks) as the runtime would say it, anything else
    (an engine bug) with its exception type."""
    if isinstance(e, FeelError):
        return str(e)
    for signal, text in _SIGNALS:
        if isinstance(e, signal):
            return text
    return f"{type(e).__name__}: {e}"


def _dec(op, *args) -> Decimal:
    """Run a CTX operation, turning decimal signals (and infinite results) into FeelError."""
    try:
        r = op(*args)
    except decimal.DivisionByZero:
        raise FeelError("division by zero") from None
    except decimal.Overflow:
        raise FeelError("number too large (beyond 34-digit decimal range)") from None
    except decimal.InvalidOperation:
        raise FeelError(f"invalid arithmetic operation on {', '.join(str(a) for a in args)}") from None
    if not r.is_finite():  # e.g. 0 ** -1 is Infinity without a signal
        raise FeelError(f"the result is not a finite number ({', '.join(str(a) for a in args)})")
    return r


def to_decimal(x) -> Decimal:
    """int, float, numeric str or Decimal -> Decimal rounded to CTX (a float via repr: 0.1 stays 0.1)."""
    if isinstance(x, bool):
        raise FeelError(f"expected a number, got boolean {str(x).lower()}")
    if isinstance(x, Decimal):
        d = x
    elif isinstance(x, int):
        d = Decimal(x)
    elif isinstance(x, float):
        d = Decimal(repr(x))
    elif isinstance(x, str):
        if not _NUMBER_TEXT.fullmatch(x):
            raise FeelError(f"expected a number, got string {x!r}")
        d = Decimal(x)
    else:
        raise FeelError(f"expected a number, got {type_name(x)}")
    if not d.is_finite():
        raise FeelError(f"expected a finite number, got {x!r}")
    return _dec(CTX.plus, d)


def _num(x) -> Decimal:
    return x if type(x) is Decimal else to_decimal(x)


def _is_num(x) -> bool:
    return isinstance(x, (Decimal, int, float)) and not isinstance(x, bool)


def _td_micros(td: timedelta) -> int:
    return (td.days * 86400 + td.seconds) * 1_000_000 + td.microseconds


def _micros_td(us: int) -> timedelta:
    try:
        return timedelta(microseconds=us)
    except OverflowError:
        raise FeelError("duration out of range (more than 999999999 days)") from None


# -- temporal helpers ------------------------------------------------------------------------------
def _aware(v) -> bool:
    return v.utcoffset() is not None


def _utc_midnight(d: date) -> datetime:
    # FEEL: where a date meets a date and time, the date is midnight UTC of that day.
    return datetime(d.year, d.month, d.day, tzinfo=timezone.utc)


def _instants(a, b) -> "tuple[datetime, datetime]":
    """Two dates / date-times made comparable: both naive, or both aware and in UTC."""
    x = a if isinstance(a, datetime) else _utc_midnight(a)
    y = b if isinstance(b, datetime) else _utc_midnight(b)
    ax, ay = _aware(x), _aware(y)
    if ax != ay:
        raise FeelError(f"cannot combine {format_value(a)} and {format_value(b)}: "
                        "one has a time zone or offset and the other has none")
    if ax:
        return x.astimezone(timezone.utc), y.astimezone(timezone.utc)
    return x, y


def _add_months(t, months: int):
    y, m0 = divmod(t.year * 12 + (t.month - 1) + months, 12)
    if not 1 <= y <= 9999:
        raise FeelError(f"date out of range: year {y} (supported: 1 to 9999)")
    m = m0 + 1
    day = t.day
    if day > 28:  # every month has 28 days: only later days may need clamping to the month's end
        day = min(day, calendar.monthrange(y, m)[1])
    return t.replace(year=y, month=m, day=day)


def _shift(t, d):
    """Temporal `t` plus duration `d`."""
    try:
        if isinstance(d, YearsMonths):
            if isinstance(t, time):
                raise FeelError(f"cannot add a years and months duration ({d}) to a time")
            return _add_months(t, d.months)
        if isinstance(t, datetime):
            if isinstance(t.tzinfo, ZoneInfo):
                # Exact elapsed time across DST changes, as FEEL (java.time) does.
                return (t.astimezone(timezone.utc) + d).astimezone(t.tzinfo)
            return t + d
        if isinstance(t, date):
            return (datetime(t.year, t.month, t.day) + d).date()
        # time: wraps around midnight, keeps its offset or zone
        return (datetime.combine(date(2000, 1, 1), t) + d).timetz()
    except OverflowError:
        raise FeelError(f"date out of range: {format_value(t)} + {format_value(d)}") from None


# -- arithmetic ------------------------------------------------------------------------------------
def _arith_error(op: str, a, b, expected: str) -> FeelError:
    return FeelError(f"'{op}' expects {expected}; got {type_name(a)} and {type_name(b)}")


def add(a, b):
    """FEEL `a + b`: numbers, string concatenation, durations, temporal plus duration."""
    if a is None or b is None:
        return None
    if type(a) is Decimal and type(b) is Decimal:
        return _dec(CTX.add, a, b)
    ka, kb = type_name(a), type_name(b)
    if ka == kb == NUMBER:
        return _dec(CTX.add, _num(a), _num(b))
    if ka == kb == STRING:
        return a + b
    if ka == kb == YM_DURATION:
        return YearsMonths(a.months + b.months)
    if ka == kb == DT_DURATION:
        return _micros_td(_td_micros(a) + _td_micros(b))
    if ka in _TEMPORALS and kb in _DURATIONS:
        return _shift(a, b)
    if ka in _DURATIONS and kb in _TEMPORALS:
        return _shift(b, a)
    raise _arith_error("+", a, b, "two numbers, two strings, two durations of the same kind, "
                       "or a date, time or date and time with a duration")


def sub(a, b):
    """FEEL `a - b`: numbers, durations, temporal minus duration, temporal minus temporal."""
    if a is None or b is None:
        return None
    if type(a) is Decimal and type(b) is Decimal:
        return _dec(CTX.subtract, a, b)
    ka, kb = type_name(a), type_name(b)
    if ka == kb == NUMBER:
        return _dec(CTX.subtract, _num(a), _num(b))
    if ka == kb == YM_DURATION:
        return YearsMonths(a.months - b.months)
    if ka == kb == DT_DURATION:
        return _micros_td(_td_micros(a) - _td_micros(b))
    if ka in _TEMPORALS and kb in _DURATIONS:
        return _shift(a, neg(b))
    if ka == kb == DATE:
        return a - b
    if ka in (DATE, DATETIME) and kb in (DATE, DATETIME):
        x, y = _instants(a, b)
        return x - y
    if ka == kb == TIME:
        if _aware(a) != _aware(b):
            raise FeelError(f"cannot subtract {format_value(b)} from {format_value(a)}: "
                            "one has an offset and the other has none")
        base = date(2000, 1, 1)
        return datetime.combine(base, a) - datetime.combine(base, b)
    raise _arith_error("-", a, b, "two numbers, two durations of the same kind, two dates, "
                       "two times, or a date, time or date and time with a duration")


def _scale_duration(d, n: Decimal, op):
    if isinstance(d, YearsMonths):
        # Whole months, truncated toward zero (TCK: P1Y11M * -2.5 = -P4Y9M).
        months = _dec(op, Decimal(d.months), n)
        return YearsMonths(int(months.to_integral_value(decimal.ROUND_DOWN, CTX)))
    us = _dec(op, Decimal(_td_micros(d)), n)
    return _micros_td(int(us.to_integral_value(decimal.ROUND_HALF_EVEN, CTX)))


def mul(a, b):
    """FEEL `a * b`: numbers, or a duration times a number."""
    if a is None or b is None:
        return None
    if type(a) is Decimal and type(b) is Decimal:
        return _dec(CTX.multiply, a, b)
    ka, kb = type_name(a), type_name(b)
    if ka == kb == NUMBER:
        return _dec(CTX.multiply, _num(a), _num(b))
    if ka in _DURATIONS and kb == NUMBER:
        return _scale_duration(a, _num(b), CTX.multiply)
    if ka == NUMBER and kb in _DURATIONS:
        return _scale_duration(b, _num(a), CTX.multiply)
    raise _arith_error("*", a, b, "two numbers, or a duration and a number")


def div(a, b):
    """FEEL `a / b`: numbers, a duration by a number, or a duration by a duration of its kind."""
    if a is None or b is None:
        return None
    ka, kb = type_name(a), type_name(b)
    if kb == NUMBER and ka in (NUMBER,) + _DURATIONS:
        n = _num(b)
        if n == 0:
            raise FeelError(f"division by zero: {format_value(a)} / 0")
        return _dec(CTX.divide, _num(a), n) if ka == NUMBER else _scale_duration(a, n, CTX.divide)
    if ka == kb == YM_DURATION:
        if b.months == 0:
            raise FeelError(f"division by a zero duration: {a} / {b}")
        return _dec(CTX.divide, Decimal(a.months), Decimal(b.months))
    if ka == kb == DT_DURATION:
        if not b:
            raise FeelError(f"division by a zero duration: {format_value(a)} / {format_value(b)}")
        return _dec(CTX.divide, Decimal(_td_micros(a)), Decimal(_td_micros(b)))
    raise _arith_error("/", a, b, "two numbers, a duration and a number, or two durations of the same kind")


def pow(a, b):  # noqa: A001 - the FEEL operator's name in the codegen contract
    """FEEL `a ** b` on numbers."""
    if a is None or b is None:
        return None
    if not (_is_num(a) and _is_num(b)):
        raise _arith_error("**", a, b, "two numbers")
    x, y = _num(a), _num(b)
    if y == 0:
        return Decimal(1)  # including 0 ** 0, as XPath math:pow
    return _dec(CTX.power, x, y)


def neg(a):
    """FEEL unary minus on a number or a duration."""
    if a is None:
        return None
    if _is_num(a):
        return _dec(CTX.minus, _num(a))
    if isinstance(a, YearsMonths):
        return YearsMonths(-a.months)
    if isinstance(a, timedelta):
        return _micros_td(-_td_micros(a))
    raise FeelError(f"unary '-' expects a number or a duration; got {type_name(a)}")


# -- comparison ------------------------------------------------------------------------------------
def _compare(a, b) -> int:
    """-1, 0 or 1 for two non-null values FEEL can order; FeelError otherwise."""
    ka, kb = type_name(a), type_name(b)
    if ka == kb and ka in (NUMBER, STRING, DATE, YM_DURATION, DT_DURATION):
        if ka == NUMBER:
            a, b = _num(a), _num(b)
        return (a > b) - (a < b)
    if ka in (DATE, DATETIME) and kb in (DATE, DATETIME):
        x, y = _instants(a, b)
        return (x > y) - (x < y)
    if ka == kb == TIME:
        if _aware(a) != _aware(b):
            raise FeelError(f"cannot compare {format_value(a)} with {format_value(b)}: "
                            "one has an offset and the other has none")
        return (a > b) - (a < b)
    if ka == kb:
        raise FeelError(f"values of kind {ka} cannot be ordered")
    raise FeelError(f"cannot compare {ka} with {kb}")


def _all3(results) -> "bool | None":
    """FEEL conjunction of already computed truth values."""
    out: "bool | None" = True
    for r in results:
        if r is False:
            return False
        if r is None:
            out = None
    return out


def _nested_equal(a, b) -> "bool | None":
    try:
        return _equal(a, b)
    except FeelError:
        return None


def _equal(a, b) -> "bool | None":
    if a is None or b is None:
        return a is None and b is None
    ka, kb = type_name(a), type_name(b)
    if ka == kb == BOOLEAN or ka == kb == STRING:
        return a == b
    if ka == kb == LIST:
        if len(a) != len(b):
            return False
        return _all3(_nested_equal(x, y) for x, y in zip(a, b))
    if ka == kb == CONTEXT:
        if a.keys() != b.keys():
            return False
        return _all3(_nested_equal(a[k], b[k]) for k in a)
    if ka == kb == RANGE:
        if (a.start_incl, a.end_incl) != (b.start_incl, b.end_incl):
            return False
        return _all3(_nested_equal(_endpoint(x), _endpoint(y)) for x, y in ((a.start, b.start), (a.end, b.end)))
    if ka in _DURATIONS and kb in _DURATIONS and ka != kb:
        # XPath: a days-time and a years-months duration are equal only when both are zero.
        return _zero_duration(a) and _zero_duration(b)
    if ka != kb and not {ka, kb} <= {DATE, DATETIME}:
        raise FeelError(f"cannot compare {ka} with {kb} for equality")
    if ka in _ORDERED or ka == DATE:
        return _compare(a, b) == 0
    raise FeelError(f"values of kind {ka} cannot be compared")


def _endpoint(v):
    return None if v is NULL_ENDPOINT else v


def _zero_duration(d) -> bool:
    return d.months == 0 if isinstance(d, YearsMonths) else not d


def eq(a, b) -> "bool | None":
    """FEEL `a = b`. null = null is true, null = x false; different kinds raise FeelError."""
    return _equal(a, b)


def ne(a, b) -> "bool | None":
    """FEEL `a != b`."""
    r = _equal(a, b)
    return None if r is None else not r


def lt(a, b) -> "bool | None":
    """FEEL `a < b`: null if either side is null, FeelError if the kinds cannot be ordered."""
    return None if a is None or b is None else _compare(a, b) < 0


def le(a, b) -> "bool | None":
    """FEEL `a <= b`."""
    return None if a is None or b is None else _compare(a, b) <= 0


def gt(a, b) -> "bool | None":
    """FEEL `a > b`."""
    return None if a is None or b is None else _compare(a, b) > 0


def ge(a, b) -> "bool | None":
    """FEEL `a >= b`."""
    return None if a is None or b is None else _compare(a, b) >= 0


def between(x, low, high) -> "bool | None":
    """FEEL `x between low and high` (`low <= x and x <= high`, three-valued)."""
    return and_(ge(x, low), le(x, high))


def and_(a, b) -> "bool | None":
    """FEEL `a and b` on evaluated operands; a non-boolean counts as null."""
    if a is False or b is False:
        return False
    return True if a is True and b is True else None


def or_(a, b) -> "bool | None":
    """FEEL `a or b` on evaluated operands; a non-boolean counts as null."""
    if a is True or b is True:
        return True
    return False if a is False and b is False else None


# -- unary tests, ranges, indexing, paths ----------------------------------------------------------
def _matches_test(x, test) -> "bool | None":
    """One positive unary test. Values of another kind simply do not match (TCK 0072:
    `true in [false, 2, 3]` is false)."""
    try:
        if isinstance(test, Range):
            return test.contains(x)
        return _equal(x, test)
    except FeelError:
        return False


def in_test(x, test) -> "bool | None":
    """FEEL `x in test`: a range (containment), a list (membership; list items that are ranges
    are tested by containment), or a value (equality)."""
    if isinstance(test, list):
        out: "bool | None" = False
        for item in test:
            r = _matches_test(x, item)
            if r is True:
                return True
            if r is None:
                out = None
        return out
    if isinstance(test, Range):
        return test.contains(x)
    return _matches_test(x, test)


_ORDERED = (NUMBER, STRING, DATE, DATETIME, TIME, DT_DURATION, YM_DURATION)


def range_of(start, end, start_incl: bool, end_incl: bool) -> Range:
    """The range literal `[start..end]`, `(start..end]`...: the endpoints must be of one ordered
    kind; a null endpoint gives a range whose containment is null (see `NULL_ENDPOINT`)."""
    for v in (start, end):
        if v is not None and type_name(v) not in _ORDERED:
            raise FeelError(f"a range endpoint must be a number, string, date, time or duration; got {type_name(v)}")
    if start is not None and end is not None:
        _compare(start, end)  # raises when the kinds differ
    return Range(NULL_ENDPOINT if start is None else start, NULL_ENDPOINT if end is None else end,
                 bool(start_incl), bool(end_incl))


_UNARY_OPS = {"<": (False, False), "<=": (False, True), ">": (True, False), ">=": (True, True)}


def unary_range(op: str, value) -> Range:
    """The open-ended range of a unary test: `< 10` is `Range(None, 10, False, False)`;
    `= 10` is `[10..10]`."""
    if value is None:
        raise FeelError(f"the unary test '{op} null' has no range")
    if op == "=":
        return Range(value, value, True, True)
    if op not in _UNARY_OPS:
        raise FeelError(f"no range for the unary test operator {op!r}")
    is_low, incl = _UNARY_OPS[op]
    if type_name(value) not in _ORDERED:
        raise FeelError(f"'{op}' expects a number, string, date, time or duration; got {type_name(value)}")
    return Range(value, None, incl, False) if is_low else Range(None, value, False, incl)


def range_items(r) -> "list | None":
    """The numbers of an integer range, for `for i in 1..3` (descending when start > end)."""
    if r is None:
        return None
    if not isinstance(r, Range):
        return r
    if not (_is_num(r.start) and _is_num(r.end)):
        raise FeelError(f"only a range of integers can be iterated; got {format_value(r)}")
    s, e = _num(r.start), _num(r.end)
    if s != s.to_integral_value(context=CTX) or e != e.to_integral_value(context=CTX):
        raise FeelError(f"only a range of integers can be iterated; got {format_value(r)}")
    lo, hi = int(s), int(e)
    step = 1 if hi >= lo else -1
    first = lo if r.start_incl else lo + step
    last = hi if r.end_incl else hi - step
    if (last - first) * step < 0:
        return []
    if abs(last - first) >= MAX_RANGE_ITEMS:
        raise FeelError(f"range {format_value(r)} has more than {MAX_RANGE_ITEMS} items")
    return [Decimal(i) for i in range(first, last + step, step)]


def _position(n, what: str = "index") -> int:
    if not _is_num(n):
        raise FeelError(f"{what} expects a number; got {type_name(n)}")
    return int(_num(n))  # truncates toward zero, as the TCK's list replace([..], 2.5, x)


def index(lst, n):
    """FEEL `lst[n]`: 1-based, negative from the end, out of range -> null; a non-list value is a
    singleton list."""
    if lst is None or n is None:
        return None
    items = lst if isinstance(lst, list) else [lst]
    i = _position(n)
    if 1 <= i <= len(items):
        return items[i - 1]
    if -len(items) <= i <= -1:
        return items[i]
    return None


def _second(v) -> Decimal:
    return _seconds_value(v.second, v.microsecond)


def _seconds_value(whole: int, micro: int) -> Decimal:
    return Decimal(f"{whole}.{micro:06d}".rstrip("0")) if micro else Decimal(whole)


def _offset(v) -> "timedelta | None":
    return v.utcoffset()


def _zone(v) -> "str | None":
    return v.tzinfo.key if isinstance(v.tzinfo, ZoneInfo) else None


_DATE_PROPS = {
    "year": lambda v: Decimal(v.year), "month": lambda v: Decimal(v.month), "day": lambda v: Decimal(v.day),
    "weekday": lambda v: Decimal(v.isoweekday()),
}
_TIME_PROPS = {
    "hour": lambda v: Decimal(v.hour), "minute": lambda v: Decimal(v.minute), "second": _second,
    "time offset": _offset, "timezone": _zone,
}


def _dt_part(td: timedelta, unit_us: int, modulo: "int | None"):
    us = _td_micros(td)
    sign = -1 if us < 0 else 1
    q = abs(us) // unit_us
    return Decimal(sign * (q % modulo if modulo else q))


def _dt_seconds(td: timedelta) -> Decimal:
    us = _td_micros(td)
    sign = -1 if us < 0 else 1
    s = _seconds_value(*divmod(abs(us) % 60_000_000, 1_000_000))
    return s if sign > 0 else CTX.minus(s)


_PROPS = {
    DATE: _DATE_PROPS,
    DATETIME: {**_DATE_PROPS, **_TIME_PROPS},
    TIME: _TIME_PROPS,
    YM_DURATION: {"years": lambda v: Decimal(v.years), "months": lambda v: Decimal(v.months_part)},
    DT_DURATION: {
        "days": lambda v: _dt_part(v, 86_400_000_000, None),
        "hours": lambda v: _dt_part(v, 3_600_000_000, 24),
        "minutes": lambda v: _dt_part(v, 60_000_000, 60),
        "seconds": _dt_seconds,
    },
    RANGE: {
        "start": lambda r: _endpoint(r.start), "end": lambda r: _endpoint(r.end),
        "start included": lambda r: r.start_incl, "end included": lambda r: r.end_incl,
    },
}
# Spellings usable from our identifier-only grammar.
_PROP_ALIASES = {"time_offset": "time offset", "offset": "time offset",
                 "start_included": "start included", "end_included": "end included"}


def get_property(value, name: str):
    """FEEL `value.name`: a context's entry (null when missing), a list maps the path over its
    items, temporal values, durations and ranges expose FEEL's properties."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, list):
        return [get_property(v, name) for v in value]
    kind = type_name(value)
    props = _PROPS.get(kind)
    if props is None:
        raise FeelError(f"a {kind} has no properties (asked for '{name}')")
    getter = props.get(_PROP_ALIASES.get(name, name))
    if getter is None:
        raise FeelError(f"a {kind} has no property '{name}' (it has: {', '.join(props)})")
    return getter(value)


def to_bool_test(x) -> "bool | None":
    """A condition's value: a boolean or null, else FeelError."""
    if x is None or isinstance(x, bool):
        return x
    raise FeelError(f"a condition must be a boolean; got {type_name(x)} {format_value(x)}")


# -- parsing ---------------------------------------------------------------------------------------
_DATE_RE = re.compile(r"(-?)(\d{4}|[1-9]\d{4,8})-(\d\d)-(\d\d)")
_TIME_RE = re.compile(r"(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d(?::\d\d)?|@[A-Za-z0-9_+\-/]+)?")
_DURATION_RE = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?")
_MAX_OFFSET = timedelta(hours=18)


def _ymd(text: str, sign: str, y: str, m: str, d: str) -> date:
    year = int(y)
    if sign or not 1 <= year <= 9999:
        raise FeelError(f"date {text!r} is outside the supported years 1 to 9999")
    try:
        return date(year, int(m), int(d))
    except ValueError as e:
        raise FeelError(f"invalid date {text!r}: {e}") from None


_FAST_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_FAST_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)?")


def parse_date(s) -> date:
    """`YYYY-MM-DD` -> date; FeelError on anything else."""
    if not isinstance(s, str):
        raise FeelError(f"expected a date string, got {type_name(s)}")
    if _FAST_DATE.fullmatch(s):  # the common shape: the C parser (an invalid day falls through)
        try:
            if s[:4] != "0000":
                return date.fromisoformat(s)
        except ValueError:
            pass
    m = _DATE_RE.fullmatch(s)
    if not m:
        raise FeelError(f"expected a date like 2024-01-31, got {s!r}")
    return _ymd(s, *m.groups())


@functools.lru_cache(maxsize=256)
def _zoneinfo(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise FeelError(f"unknown time zone {key!r}") from None


def _fixed_offset(delta: timedelta) -> timezone:
    if abs(delta) > _MAX_OFFSET:
        raise FeelError(f"time offset {format_value(delta)} is beyond +/-18 hours")
    return timezone.utc if not delta else timezone(delta)


def _parse_tz(text: str, tz: "str | None") -> "tzinfo | None":
    if tz is None:
        return None
    if tz == "Z":
        return timezone.utc
    if tz.startswith("@"):
        return _zoneinfo(tz[1:])
    sign = -1 if tz[0] == "-" else 1
    parts = [int(p) for p in tz[1:].split(":")]
    h, m, s = parts + [0] * (3 - len(parts))
    if m > 59 or s > 59:
        raise FeelError(f"invalid time offset in {text!r}")
    return _fixed_offset(sign * timedelta(hours=h, minutes=m, seconds=s))


def _parse_clock(text: str, part: str) -> "tuple[time, bool]":
    """A time of day; the flag is True for 24:00:00 (midnight at the end of the day)."""
    m = _TIME_RE.fullmatch(part)
    if not m:
        raise FeelError(f"expected a time like 13:45:00 (optionally with .fraction and Z, +01:00 or "
                        f"@Europe/Paris), got {text!r}")
    hh, mm, ss, frac, tz = m.groups()
    h, mi, sec = int(hh), int(mm), int(ss)
    micro = int((frac or "0")[:6].ljust(6, "0"))  # beyond microseconds is truncated
    end_of_day = h == 24 and mi == 0 and sec == 0 and micro == 0
    if not end_of_day and (h > 23 or mi > 59 or sec > 59):
        raise FeelError(f"invalid time {text!r}")
    return time(0 if end_of_day else h, mi, sec, micro, tzinfo=_parse_tz(text, tz)), end_of_day


def parse_time(s) -> time:
    """`hh:mm:ss[.fff][Z|+hh:mm|@Zone/Id]` -> time; FeelError on anything else."""
    if not isinstance(s, str):
        raise FeelError(f"expected a time string, got {type_name(s)}")
    return _parse_clock(s, s)[0]


def parse_datetime(s) -> datetime:
    """`YYYY-MM-DDThh:mm:ss[...]` (or a date alone: midnight) -> datetime; FeelError otherwise."""
    if not isinstance(s, str):
        raise FeelError(f"expected a date and time string, got {type_name(s)}")
    if _FAST_DATETIME.fullmatch(s) and s[:4] != "0000":  # the common shape: the C parser
        try:
            v = datetime.fromisoformat(s)
        except ValueError:
            pass
        else:
            off = v.utcoffset()
            if off is None or abs(off) <= _MAX_OFFSET:
                return v if off else (v.replace(tzinfo=timezone.utc) if v.tzinfo is not None else v)
    day, sep, clock = s.partition("T")
    m = _DATE_RE.fullmatch(day)
    if not m or (sep and not clock):
        raise FeelError(f"expected a date and time like 2024-01-31T13:45:00, got {s!r}")
    d = _ymd(s, *m.groups())
    if not sep:
        return datetime(d.year, d.month, d.day)
    t, end_of_day = _parse_clock(s, clock)
    out = datetime.combine(d, t)
    if end_of_day:
        try:
            out += timedelta(days=1)
        except OverflowError:
            raise FeelError(f"date and time {s!r} is out of range") from None
    return out


def parse_duration(s) -> "timedelta | YearsMonths":
    """ISO 8601 duration: `P1Y2M` -> YearsMonths; `P2DT3H`, `PT36H`, `-P1D` -> timedelta.
    A duration mixing years/months with days/time is not supported (FeelError)."""
    if not isinstance(s, str):
        raise FeelError(f"expected a duration string, got {type_name(s)}")
    m = _DURATION_RE.fullmatch(s)
    if not m or not any(m.groups()[1:]) or (s.endswith("T")):
        raise FeelError(f"expected a duration like P1Y2M, P3D or PT4H30M, got {s!r}")
    sign, y, mo, d, h, mi, sec, frac = m.groups()
    sgn = -1 if sign else 1
    if y or mo:
        if d or h or mi or sec:
            raise FeelError(f"duration {s!r} mixes years/months with days/time; use one kind")
        return YearsMonths(sgn * (int(y or 0) * 12 + int(mo or 0)))
    micro = int((frac or "0")[:6].ljust(6, "0"))
    us = ((int(d or 0) * 24 + int(h or 0)) * 60 + int(mi or 0)) * 60 + int(sec or 0)
    return _micros_td(sgn * (us * 1_000_000 + micro))


# -- formatting ------------------------------------------------------------------------------------
def _fmt_number(d: Decimal) -> str:
    if not d:
        return "0"
    return format(d.normalize(CTX), "f")


def _fmt_date(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"


def _fmt_offset(delta: timedelta) -> str:
    if not delta:
        return "Z"
    secs = int(delta.total_seconds())
    sign = "-" if secs < 0 else "+"
    h, rem = divmod(abs(secs), 3600)
    m, s = divmod(rem, 60)
    return f"{sign}{h:02d}:{m:02d}" + (f":{s:02d}" if s else "")


def _fmt_clock(t) -> str:
    out = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if t.microsecond:
        out += f".{t.microsecond:06d}".rstrip("0")
    if isinstance(t.tzinfo, ZoneInfo):
        return out + "@" + t.tzinfo.key
    off = t.utcoffset()
    return out if off is None else out + _fmt_offset(off)


def _fmt_dt_duration(td: timedelta) -> str:
    us = _td_micros(td)
    sign = "-" if us < 0 else ""
    days, rem = divmod(abs(us), 86_400_000_000)
    h, rem = divmod(rem, 3_600_000_000)
    m, rem = divmod(rem, 60_000_000)
    s, frac = divmod(rem, 1_000_000)
    out = f"{days}D" if days else ""
    clock = (f"{h}H" if h else "") + (f"{m}M" if m else "")
    if s or frac:
        clock += f"{s}" + (f".{frac:06d}".rstrip("0") if frac else "") + "S"
    if clock:
        out += "T" + clock
    return f"{sign}P{out}" if out else "PT0S"


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _fmt_nested(v) -> str:
    return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else format_value(v)


def _fmt_endpoint(v) -> str:
    return "null" if v is NULL_ENDPOINT else _fmt_nested(v)


def _fmt_range(r: Range) -> str:
    if r.start is None and r.end is None:
        return "[..]"
    if r.start is None:
        return ("<= " if r.end_incl else "< ") + _fmt_endpoint(r.end)
    if r.end is None:
        return (">= " if r.start_incl else "> ") + _fmt_endpoint(r.start)
    return (("[" if r.start_incl else "(") + _fmt_endpoint(r.start) + ".." + _fmt_endpoint(r.end)
            + ("]" if r.end_incl else ")"))


def format_value(v) -> str:
    """FEEL `string(v)` text of any value (null -> "null"): numbers without exponent or trailing
    zeros, ISO dates and times, ISO durations (`P1DT2H`, `P1Y2M`), FEEL-like lists and contexts."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if isinstance(v, (Decimal, int, float)):
        return _fmt_number(_num(v))
    if isinstance(v, datetime):
        return _fmt_date(v) + "T" + _fmt_clock(v)
    if isinstance(v, date):
        return _fmt_date(v)
    if isinstance(v, time):
        return _fmt_clock(v)
    if isinstance(v, timedelta):
        return _fmt_dt_duration(v)
    if isinstance(v, YearsMonths):
        return str(v)
    if isinstance(v, Range):
        return _fmt_range(v)
    if isinstance(v, list):
        return "[" + ", ".join(_fmt_nested(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k if _IDENT.fullmatch(str(k)) else json.dumps(str(k))}: {_fmt_nested(x)}"
                               for k, x in v.items()) + "}"
    return str(v)


def to_json(v):
    """A JSON-ready plain value: numbers as int (integral) or float, temporal values, durations and
    ranges as their FEEL text, lists and contexts recursively."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (Decimal, int, float)):
        d = _num(v)
        return int(d) if d == d.to_integral_value(context=CTX) else float(d)
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    return format_value(v)
