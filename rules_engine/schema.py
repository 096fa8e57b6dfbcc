"""Context schemas: parse the type notation of rulesets and validate/convert input contexts.

A schema is compiled once into a converter: a tree of small closures that checks each declared
field and turns JSON values into run-time values (numbers to Decimal, ISO strings to dates...).
Extra fields are dropped; missing optional fields become None, so generated code can subscript
declared fields without further checks.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Callable

from . import runtime as rt
from . import typesys as T
from .typesys import Type

_SCALARS = {"string": T.STRING, "number": T.NUMBER, "boolean": T.BOOLEAN, "date": T.DATE, "datetime": T.DATETIME,
            "time": T.TIME, "duration": T.DURATION, "any": T.ANY}
_ENUM_VALUE = re.compile(r"^[A-Za-z0-9_.\-]+$")
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SchemaError(ValueError):
    """A type written in a schema does not parse; `.hint` says what would."""


class ContextError(ValueError):
    """A context breaks the schema: `.path` names the field, `.expected` the type it should have."""

    def __init__(self, path: str, expected: str, got: str = ""):
        self.path = path or "(context)"
        self.expected = expected
        self.got = got
        super().__init__(f"{self.path}: expected {expected}" + (f", got {got}" if got else ""))


def parse_type(spec: Any) -> Type:
    """`"number"`, `"enum(a, b)"`, `"list(string)"`, `"date?"`, or a mapping for an object type."""
    if isinstance(spec, dict):
        fields = []
        for name, sub in spec.items():
            if not FIELD_NAME.match(str(name)):
                raise SchemaError(f"field name {name!r} is not a valid name ([A-Za-z_][A-Za-z0-9_]*)")
            fields.append((str(name), parse_type(sub)))
        return T.object_of(fields)
    if not isinstance(spec, str):
        raise SchemaError(f"expected a type name or a mapping, got {spec!r}")
    p = _TypeParser(spec)
    t = p.type()
    p.expect_end()
    return t


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.\-]*|[(){},:?]|\S)")


class _TypeParser:
    """Recursive descent over the schema notation: `list({sku: string, at: date?})`, `enum(a, b)?`."""

    def __init__(self, text: str):
        self.text = text
        self.toks = [m.group(1) for m in _TOKEN.finditer(text) if m.group(1)]
        self.i = 0
        self.depth = 0

    def peek(self) -> str:
        return self.toks[self.i] if self.i < len(self.toks) else ""

    def take(self, want: "str | None" = None) -> str:
        tok = self.peek()
        if want is not None and tok != want:
            got = f"'{tok}'" if tok else "the end"
            raise SchemaError(f"in type {self.text!r}: expected '{want}', got {got}")
        self.i += 1
        return tok

    def expect_end(self) -> None:
        if self.i < len(self.toks):
            raise SchemaError(f"in type {self.text!r}: unexpected '{self.peek()}' after the type")

    def type(self) -> Type:
        self.depth += 1
        if self.depth > 32:
            raise SchemaError(f"type {self.text[:40]!r}... is nested too deeply")
        tok = self.take()
        if tok == "{":
            fields, seen = [], set()
            while True:
                name = self.take()
                if not FIELD_NAME.match(name):
                    raise SchemaError(f"in type {self.text!r}: field name {name!r} is not a valid name")
                if name in seen:
                    raise SchemaError(f"in type {self.text!r}: field '{name}' appears twice")
                seen.add(name)
                self.take(":")
                fields.append((name, self.type()))
                if self.peek() == ",":
                    self.take()
                    continue
                self.take("}")
                break
            t = T.object_of(fields)
        elif tok == "enum":
            self.take("(")
            values = []
            while True:
                v = self.take()
                if not _ENUM_VALUE.match(v):
                    raise SchemaError(f"enum value {v!r} may only use letters, digits, '_', '.', '-'")
                values.append(v)
                if self.peek() == ",":
                    self.take()
                    continue
                self.take(")")
                break
            t = T.enum_of(values)
        elif tok == "list":
            self.take("(")
            t = T.list_of(self.type())
            self.take(")")
        elif tok in _SCALARS:
            t = _SCALARS[tok]
        else:
            from .diagnostics import suggest
            best = suggest(tok, list(_SCALARS) + ["enum", "list"])
            raise SchemaError(f"unknown type {tok!r}" + (f" (did you mean '{best}'?)" if best else "") +
                              "; expected string, number, boolean, date, datetime, time, duration, enum(...), "
                              "list(...) or a mapping")
        if self.peek() == "?":
            self.take()
            t = t.as_nullable(True)
        self.depth -= 1
        return t


def _kind(v: Any) -> str:
    if v is None:
        return "null or missing"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float, Decimal)):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {v[:40]!r}"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return type(v).__name__


Converter = Callable[[Any, str], Any]


def converter(t: Type) -> Converter:
    """A function (value, path) -> run-time value for type `t`, raising ContextError.

    The checks are compiled to Python once per schema (see validator.py)."""
    from .validator import compile_validator
    return compile_validator(t)


def _temporal(t: Type, expected: str) -> Converter:
    from .validator import _Bad
    k = t.kind
    pytype = {T.DATE_K: dt.date, T.DATETIME_K: dt.datetime, T.TIME_K: dt.time}.get(k)
    parser = {T.DATE_K: rt.parse_date, T.DATETIME_K: rt.parse_datetime, T.TIME_K: rt.parse_time}.get(
        k, rt.parse_duration)
    needs_offset = k == T.DATETIME_K
    shape = f"{expected} ({_EXAMPLES[k]})"
    # Contexts repeat the same dates (order and contact histories, today's date...): a string
    # already converted is looked up. The values are immutable; the memo is bounded.
    memo: dict = {}

    def parse(v, path):
        if v.__class__ is str:  # what JSON brings: checked first
            value = memo.get(v)
            if value is not None:
                return value
            try:
                value = parser(v)
            except rt.FeelError:
                raise _Bad(path, shape, v) from None
        elif k == T.DATETIME_K and isinstance(v, dt.datetime):
            value = v
        elif k == T.DATE_K and isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            return v
        elif pytype is not None and isinstance(v, pytype):
            return v
        elif t.is_duration and isinstance(v, (dt.timedelta, rt.YearsMonths)):
            value = v
        elif isinstance(v, str):
            return parse(str(v), path)
        else:
            raise _Bad(path, shape, v)
        if needs_offset and value.tzinfo is None:
            raise _Bad(path, "datetime with a UTC offset (e.g. 2026-11-22T10:00:00Z)", v)
        if k == T.DT_DURATION_K and not isinstance(value, dt.timedelta) or \
                k == T.YM_DURATION_K and not isinstance(value, rt.YearsMonths):
            raise _Bad(path, expected, v)
        if v.__class__ is str and len(memo) < MEMO_SIZE:
            memo[v] = value
        return value
    parse.memo = memo  # read in place by the validator's code for decoded strings
    return parse


MEMO_SIZE = 4096  # converted strings remembered per temporal field type of a schema


_EXAMPLES = {T.DATE_K: 'ISO date such as "2026-11-22"', T.DATETIME_K: 'ISO date-time with offset such as "2026-11-22T10:00:00Z"',
             T.TIME_K: 'ISO time such as "10:00:00"', T.DURATION_K: 'ISO duration such as "P90D" or "P1Y2M"',
             T.DT_DURATION_K: 'ISO duration such as "P90D"', T.YM_DURATION_K: 'ISO duration such as "P1Y2M"'}


def to_feel(v: Any) -> Any:
    """A plain Python/JSON value as a FEEL run-time value, without a schema (numbers become Decimal)."""
    c = v.__class__
    if c is bool or v is None or c is str or c is Decimal:
        return v
    if c is int:
        return Decimal(v)
    if c is float:
        return Decimal(repr(v)) if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, dict):
        return {str(k): to_feel(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_feel(x) for x in v]
    return v
