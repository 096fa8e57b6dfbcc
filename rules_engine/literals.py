"""Values that appear in rule text or in inputs: temporal literals and the static type of a value."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from . import typesys as T
from .runtime import FeelError, Range, YearsMonths, parse_date, parse_datetime, parse_duration, parse_time


def parse_temporal_literal(text: str):
    """`@"..."`: a date, date and time, time or duration, told apart by the shape of the text."""
    s = text.strip()
    if s.startswith(("P", "-P")):
        return parse_duration(s)
    if "T" in s:
        return parse_datetime(s)
    if ":" in s:
        return parse_time(s)
    if s.count("-") >= 2:
        return parse_date(s)
    raise FeelError(f"expected a date, time, date and time or duration, got {text!r}")


def type_of_value(v) -> T.Type:
    """The static type of a run-time value (used for literals folded at compile time)."""
    if v is None:
        return T.NULL
    if isinstance(v, bool):
        return T.BOOLEAN
    if isinstance(v, (Decimal, int, float)):
        return T.NUMBER
    if isinstance(v, str):
        return T.STRING
    if isinstance(v, dt.datetime):
        return T.DATETIME
    if isinstance(v, dt.date):
        return T.DATE
    if isinstance(v, dt.time):
        return T.TIME
    if isinstance(v, dt.timedelta):
        return T.DT_DURATION
    if isinstance(v, YearsMonths):
        return T.YM_DURATION
    if isinstance(v, Range):
        return T.range_of(T.ANY)
    if isinstance(v, list):
        return T.ANY_LIST
    if isinstance(v, dict):
        return T.object_of(None)
    return T.ANY
