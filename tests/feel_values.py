"""Comparing FEEL run-time values exactly in tests, and the time zone data marker (shared by the
runtime and builtin tests)."""
from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

import pytest

from rules_engine import runtime as rt


def _zone_ok(key: str) -> bool:
    try:
        rt._zoneinfo(key)
        return True
    except rt.FeelError:
        return False


needs_tzdata = pytest.mark.skipif(not _zone_ok("Europe/Paris"), reason="no IANA time zone data installed")


def same(got, want) -> bool:
    """Exact equality: same Python type and value, recursively; Decimals also by their text."""
    if type(got) is not type(want):
        return False
    if isinstance(want, list):
        return len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, dict):
        return list(got) == list(want) and all(same(got[k], want[k]) for k in want)
    if isinstance(want, Decimal):
        return got == want and rt.format_value(got) == rt.format_value(want)
    if isinstance(want, (datetime, time)):
        return got == want and got.tzinfo == want.tzinfo
    return got == want
