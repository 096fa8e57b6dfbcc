"""Static types of the expression language and of ruleset context schemas.

A `Type` is an immutable value. `nullable` marks a value that may be null at run time (an optional
field, or the result of an operation that can fail); the checker uses it to decide where generated
code needs null tests.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

# Kinds. "duration" is either FEEL duration kind (a schema field of type `duration`).
STRING_K, NUMBER_K, BOOLEAN_K = "string", "number", "boolean"
DATE_K, DATETIME_K, TIME_K = "date", "datetime", "time"
DT_DURATION_K, YM_DURATION_K, DURATION_K = "days and time duration", "years and months duration", "duration"
LIST_K, OBJECT_K, RANGE_K = "list", "object", "range"
ANY_K, NULL_K = "any", "null"


@dataclass(frozen=True)
class Type:
    kind: str
    nullable: bool = False
    elem: "Type | None" = None                          # list element, range endpoint
    fields: "tuple[tuple[str, Type], ...] | None" = None  # object fields, in order; None = open object
    values: "tuple[str, ...] | None" = None            # enum values (kind is string)

    # -- constructors -------------------------------------------------------------------------
    def as_nullable(self, nullable: bool = True) -> "Type":
        return self if self.nullable == nullable else replace(self, nullable=nullable)

    def field(self, name: str) -> "Type | None":
        for n, t in self.fields or ():
            if n == name:
                return t
        return None

    # -- predicates ---------------------------------------------------------------------------
    @property
    def is_any(self) -> bool:
        return self.kind == ANY_K

    @property
    def is_enum(self) -> bool:
        return self.values is not None

    @property
    def is_temporal(self) -> bool:
        return self.kind in (DATE_K, DATETIME_K, TIME_K)

    @property
    def is_duration(self) -> bool:
        return self.kind in (DT_DURATION_K, YM_DURATION_K, DURATION_K)

    def __str__(self) -> str:
        return describe(self)


STRING = Type(STRING_K)
NUMBER = Type(NUMBER_K)
BOOLEAN = Type(BOOLEAN_K)
DATE = Type(DATE_K)
DATETIME = Type(DATETIME_K)
TIME = Type(TIME_K)
DT_DURATION = Type(DT_DURATION_K)
YM_DURATION = Type(YM_DURATION_K)
DURATION = Type(DURATION_K)
ANY = Type(ANY_K, nullable=True)
NULL = Type(NULL_K, nullable=True)
ANY_LIST = Type(LIST_K, elem=ANY)


def list_of(elem: Type, nullable: bool = False) -> Type:
    return Type(LIST_K, nullable=nullable, elem=elem)


def range_of(elem: Type) -> Type:
    return Type(RANGE_K, elem=elem)


def object_of(fields: "list[tuple[str, Type]] | tuple[tuple[str, Type], ...] | None", nullable: bool = False) -> Type:
    return Type(OBJECT_K, nullable=nullable, fields=None if fields is None else tuple(fields))


def enum_of(values: "list[str] | tuple[str, ...]", nullable: bool = False) -> Type:
    return Type(STRING_K, nullable=nullable, values=tuple(values))


def describe(t: Type) -> str:
    """The type as an analyst writes it in a schema: `list(number)`, `enum(a, b)`, `date?`."""
    if t.kind == NULL_K:
        return "null"
    if t.kind == LIST_K:
        s = f"list({describe(t.elem.as_nullable(False)) if t.elem and not t.elem.is_any else 'any'})"
    elif t.kind == RANGE_K:
        s = f"range({describe(t.elem.as_nullable(False)) if t.elem else 'any'})"
    elif t.kind == OBJECT_K:
        s = "{" + ", ".join(f"{n}: {describe(ft)}" for n, ft in t.fields) + "}" if t.fields is not None else "context"
    elif t.values is not None:
        s = f"enum({', '.join(t.values)})"
    else:
        s = t.kind
    return s + "?" if t.nullable and t.kind != ANY_K else s


def same_kind(a: Type, b: Type) -> bool:
    """True when values of `a` and `b` can meet in an operator (ignoring nullability and enums)."""
    if a.is_any or b.is_any or a.kind == NULL_K or b.kind == NULL_K:
        return True
    if a.is_duration and b.is_duration:
        return a.kind == b.kind or DURATION_K in (a.kind, b.kind)
    return a.kind == b.kind


def assignable(src: Type, dst: Type) -> bool:
    """Can a value of type `src` be used where `dst` is expected (nullability aside)?"""
    if dst.is_any or src.is_any or src.kind == NULL_K:
        return True
    if dst.kind == DURATION_K and src.is_duration:
        return True
    if src.kind != dst.kind:
        return False
    if src.kind == LIST_K:
        return assignable(src.elem or ANY, dst.elem or ANY)
    if src.kind == OBJECT_K and dst.fields is not None and src.fields is not None:
        return all(src.field(n) is not None and assignable(src.field(n), ft) for n, ft in dst.fields)
    return True


def join(a: Type, b: Type) -> Type:
    """The narrowest type holding values of both `a` and `b` (for `if` branches, list literals)."""
    nullable = a.nullable or b.nullable
    if a.kind == NULL_K:
        return b.as_nullable(True)
    if b.kind == NULL_K:
        return a.as_nullable(True)
    if a.as_nullable(nullable) == b.as_nullable(nullable):
        return a.as_nullable(nullable)
    if a.kind == b.kind == STRING_K:
        return STRING.as_nullable(nullable)
    if a.kind == b.kind == LIST_K:
        return list_of(join(a.elem or ANY, b.elem or ANY), nullable)
    if a.is_duration and b.is_duration:
        return DURATION.as_nullable(nullable)
    if a.kind == b.kind == OBJECT_K:
        return object_of(None, nullable)
    return ANY
