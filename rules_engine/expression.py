"""Stand-alone expressions: `compile_expression(text, schema=None).evaluate(variables)`."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from . import runtime as rt
from . import typesys as T
from .checker import Env, check
from .codegen import EvalState, EvaluationLimit, ExprGen, Unit
from .diagnostics import CompileError, ExprSource
from .parser import parse
from .schema import ContextError, converter, parse_type, to_feel


class Expression:
    """A compiled expression. `evaluate` does no parsing and no checking: it runs generated code."""

    def __init__(self, text: str, type_: T.Type, fn, unit: Unit, convert, warnings):
        self.text = text
        self.type = type_
        self.warnings = warnings       # compile-time warnings (diagnostics)
        self.source = unit.source      # the generated Python, for the curious
        self._fn = fn
        self._unit = unit
        self._convert = convert

    def evaluate(self, variables: "dict | None" = None, as_of: "dt.datetime | None" = None) -> Any:
        """The value of the expression; run-time errors give None (see `evaluate_with_warnings`)."""
        return self.evaluate_with_warnings(variables, as_of)[0]

    def evaluate_with_warnings(self, variables: "dict | None" = None, as_of: "dt.datetime | None" = None):
        """(value, warnings): each warning says where a FEEL error turned a value into null."""
        ctx = self._convert(variables or {}, "")
        state = EvalState(_clock(as_of))
        try:
            value = self._fn(state, ctx)
        except (ArithmeticError, TypeError, ValueError, KeyError, IndexError, AttributeError, RecursionError,
                EvaluationLimit) as e:
            state.warn(0, rt.describe_error(e))
            value = None
        sites = self._unit.sites
        return _numbers_as_decimal(value), [sites[k].describe(msg) if k < len(sites) else msg for k, msg in state.warnings]


def _numbers_as_decimal(v):
    """Validated inputs keep JSON integers as int; results give every number as Decimal."""
    c = v.__class__
    if c is int:
        return Decimal(v)
    if c is list:
        return [_numbers_as_decimal(x) for x in v]
    if c is dict:
        return {k: _numbers_as_decimal(x) for k, x in v.items()}
    return v


def _clock(as_of: "dt.datetime | None") -> dt.datetime:
    if as_of is None:
        return dt.datetime.now(dt.timezone.utc)
    if as_of.tzinfo is None:
        return as_of.replace(tzinfo=dt.timezone.utc)
    return as_of


def compile_expression(text: str, schema: Any = None, name: str = "<expr>") -> Expression:
    """Parse, check and compile `text`. `schema`: None (dynamic names), a Type, or a schema mapping."""
    source = ExprSource.standalone(text, name)
    schema_t = schema if isinstance(schema, T.Type) or schema is None else parse_type(schema)
    checked = check(parse(source), source, Env(schema_t))
    if not checked.ok:
        raise CompileError(checked.diagnostics)
    unit = Unit(name)
    unit.site(source, checked.node.span)
    unit.add_function("expr", ExprGen(unit, checked).generate(dynamic_root=schema_t is None), comment=text[:60].replace("\n", " "))
    try:
        fn = unit.link()["expr"]
    except (SyntaxError, RecursionError, MemoryError):  # a backstop: the depth limit should prevent this
        raise CompileError([source.diagnostic(checked.node.span, "E-TOO-DEEP",
                                              "expression is too deeply nested to compile")]) from None
    if schema_t is None:
        def convert(v, path):
            if not isinstance(v, dict):
                raise ContextError("", "a mapping of variable names to values", type(v).__name__)
            try:
                return to_feel(v)
            except RecursionError:  # absurdly nested input: an error naming the context, not a crash
                raise ContextError("", "a context nested less than a few hundred levels deep", "deeper") from None
    else:
        convert = converter(schema_t)
    return Expression(text, checked.type, fn, unit, convert, [d for d in checked.diagnostics if not d.is_error])
