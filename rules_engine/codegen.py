"""Generate Python source from checked expressions, then link it into code objects once.

Nothing from rule text reaches the generated source except through `repr()` of strings and
numbers or as identifiers the grammar restricted to `[A-Za-z_][A-Za-z0-9_]*` (and prefixed, so
they never shadow our own names). Values read from input go through subscripts on the validated
context; every operation the checker could not prove safe goes through `_op`, which turns a FEEL
run-time error into null plus a warning at the source position.
"""
from __future__ import annotations

import datetime as dt
import operator
import re
from time import time as _time
from dataclasses import dataclass
from decimal import Decimal

from . import nodes as n
from . import runtime as rt
from . import typesys as T
from .checker import Checked, Ref
from .diagnostics import ExprSource, Span

_SIMPLE_EQ = {T.STRING_K, T.NUMBER_K, T.BOOLEAN_K, T.DATE_K}   # Python == is FEEL = for these, nulls included
_NATIVE_ORDER = {T.STRING_K, T.NUMBER_K, T.DATE_K}             # Python < is FEEL < when neither side is null
_PY_CMP = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_RT_CMP = {"=": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_RT_ARITH = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}
_CTX_ARITH = {"+": "_add", "-": "_sub", "*": "_mul"}
# Built-ins that cannot fail or give null when none of their arguments is null (see
# certainly_boolean): any other call may give null whatever its declared result type.
_TOTAL_FUNCTIONS = frozenset({"not", "list contains", "contains", "starts with", "ends with", "count",
                              "string length", "upper case", "lower case"})
_MAX_INLINE_LOGIC = 8   # longer `and` / `or` chains of possibly-null operands call _and_lazy / _or_lazy


class _Cmp(str):
    """Generated code `(E)` where E is a Python comparison or `not` test (`a < b`, `x in K`,
    `not x`): as an operand of `and`, `or` or `not`, or as a whole test, E needs no parentheses.
    Rule conditions are a megabyte of code at 10,000 rules, and CPython's compile() takes
    noticeably longer over redundant parentheses. Only the exact object a generator returns is
    marked: anything built from it (f-strings, joins, slices) is a plain str again."""
    __slots__ = ()


class _Either(str):
    """`(A or B ...)` as `cond` generates it: as a whole test it needs no parentheses."""
    __slots__ = ()


class _Both(str):
    """`(A and B ...)` as `cond` generates it: as a whole test or an operand of `and`, it needs
    no parentheses (`and` is associative, also in what it evaluates and returns)."""
    __slots__ = ()


def _bare(code: str) -> str:
    """`code` without the outer parentheses of a `_Cmp`, for where a comparison needs none."""
    return code[1:-1] if code.__class__ is _Cmp else code


def unparen_test(code: str) -> str:
    """A `cond` result without the outer parentheses it needs in no `if` or `while` test."""
    return code[1:-1] if code.__class__ in (_Cmp, _Either, _Both) else code


def unparen_conjunct(code: str) -> str:
    """A `cond` result without the outer parentheses it needs in no operand of `and`."""
    return code[1:-1] if code.__class__ in (_Cmp, _Both) else code


MAX_WARNINGS = 100


class EvalState:
    """Per-evaluation state handed to generated code: the clock, warnings, segment cache.

    Without an explicit clock, the wall-clock time is taken as a timestamp and turned into a
    datetime only if a rule reads it (or the decision's `as_of` is asked for).
    """
    __slots__ = ("_clock", "ts", "warnings", "cache", "steps")

    def __init__(self, clock: "dt.datetime | None" = None):
        self._clock = clock
        self.ts = _time() if clock is None else None
        # Most decisions warn about nothing and read no segment: the list and the dict are made
        # when first needed (two allocations fewer per decision).
        self.warnings: "tuple | list[tuple[int, str]]" = ()
        self.cache: "dict | None" = None   # segment index -> value, made by the first segment read
        self.steps = MAX_LOOP_STEPS   # list items that loops and filters may still visit

    @property
    def clock(self) -> dt.datetime:
        if self._clock is None:
            self._clock = dt.datetime.fromtimestamp(self.ts, dt.timezone.utc)
        return self._clock

    def warn(self, site: int, message: str) -> None:
        warnings = self.warnings
        if warnings.__class__ is tuple:
            warnings = self.warnings = []
        if len(warnings) < MAX_WARNINGS:  # a runaway loop must not pile up warnings without end
            warnings.append((site, message))
        elif len(warnings) == MAX_WARNINGS:
            warnings.append((site, f"more than {MAX_WARNINGS} warnings; the rest are not recorded"))


# Loops and filters visit at most this many list items in one evaluation (a decision): nested
# filters or `for` over several ranges would otherwise cost size ** depth, a hang on hostile text.
MAX_LOOP_STEPS = 500_000


class EvaluationLimit(RuntimeError):
    """Raised (never caught by `_op`) when an evaluation exceeds MAX_LOOP_STEPS."""


_GUARDED = (rt.FeelError, ArithmeticError, TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
            RecursionError, MemoryError)


MAX_VALUE_SIZE = 1_000_000   # characters of a string, items of a list, built by one operation


def _op(s: EvalState, site: int, fn, *args):
    """Call a runtime function; a FEEL error becomes null and a warning.

    Results are capped in size, so a short expression that doubles a string or list at every step
    (`{a: "xx", b: a + a, c: b + b, ...}`) cannot exhaust memory."""
    try:
        r = fn(*args)
    except rt.FeelError as e:
        s.warn(site, str(e))
    except _GUARDED as e:  # a Python error inside a runtime function is still a FEEL error, never a crash
        s.warn(site, rt.describe_error(e))
    else:
        if (r.__class__ is str or r.__class__ is list) and len(r) > MAX_VALUE_SIZE:
            s.warn(site, f"result too large: {len(r):,} {'characters' if r.__class__ is str else 'items'} "
                         f"(the limit is {MAX_VALUE_SIZE:,})")
            return None
        return r
    return None


def _concat(s, site, a, b):
    """String + string, nulls giving null, within the size cap that _op keeps for the runtime."""
    if a is None or b is None:
        return None
    if len(a) + len(b) > MAX_VALUE_SIZE:
        s.warn(site, f"result too large: {len(a) + len(b):,} characters (the limit is {MAX_VALUE_SIZE:,})")
        return None
    return a + b


# The decision clock in generated code: the slot when it is set (always, in the service), else the
# property that reads the wall clock once. A property call per `now()` is a Python frame.
_CLOCK = "(_s._clock or _s.clock)"

# the range of clocks `now()`/`today() -/+ duration` may be computed in place for (see ExprGen.g_Arith)
_EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.timezone.utc)
_LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.timezone.utc)

_MONTHS_MEMO: dict = {}    # (date, months) -> shifted date
_MONTHS_MEMO_SIZE = 1024


def _tshift(s, site, sign, a, b):
    """date / date-time plus or minus a days-and-time duration: Python's own arithmetic where it
    is FEEL's (fixed offsets, whole days for a date), the runtime otherwise."""
    if b.__class__ is dt.timedelta:
        c = a.__class__
        if (c is dt.datetime and (a.tzinfo is None or a.tzinfo.__class__ is dt.timezone)) or \
                (c is dt.date and not b.seconds and not b.microseconds):
            try:
                return a + b if sign > 0 else a - b
            except OverflowError:
                pass
    elif b.__class__ is rt.YearsMonths and (a.__class__ is dt.date or a.__class__ is dt.datetime):
        months = b.months if sign > 0 else -b.months
        if a.__class__ is dt.date:
            # `today() - duration("P18Y")`: the same date and shift in decision after decision
            key = (a, months)
            r = _MONTHS_MEMO.get(key)
            if r is not None:
                return r
        try:  # the runtime's own month arithmetic (end-of-month clamping), without its dispatch
            r = rt._add_months(a, months)
        except rt.FeelError:
            pass  # out of range: the runtime call below reports it
        else:
            if a.__class__ is dt.date:
                if len(_MONTHS_MEMO) >= _MONTHS_MEMO_SIZE:
                    _MONTHS_MEMO.clear()
                _MONTHS_MEMO[key] = r
            return r
    return _op(s, site, rt.add if sign > 0 else rt.sub, a, b)


def _tcmp(s, site, pyop, rtop, a, b):
    """Order two date-times or times: Python compares them as FEEL does when it can at all (both
    with offsets, or both without); anything else (a null, mixed offsets) goes to the runtime."""
    try:
        return pyop(a, b)
    except TypeError:
        return _op(s, site, rtop, a, b)


def _as_list(v):
    if v is None:
        return ()
    return v if isinstance(v, list) else [v]


def _loop(s, v):
    """The items a loop or filter visits (a single value is a one-item list), within the budget."""
    if v is None:
        return ()
    items = v if isinstance(v, list) else [v]
    s.steps -= len(items)
    if s.steps < 0:
        raise EvaluationLimit(f"evaluation stopped: loops and filters visited more than {MAX_LOOP_STEPS:,} items")
    return items


def _item_or(item, key, root):
    if isinstance(item, dict) and key in item:
        return item[key]
    return root.get(key) if isinstance(root, dict) else None


def _filter_dyn(s, site, base, fn):
    """`base[cond]` when the checker could not tell a filter from an index."""
    if base is None:
        return None
    items = _loop(s, base)
    out = []
    for i, item in enumerate(items):
        r = fn(item)
        if isinstance(r, Decimal) and i == 0:
            return _op(s, site, rt.index, base, r)
        if r is True:
            out.append(item)
    return out


def _and_lazy(*thunks):
    """Three-valued `and` over many operands, evaluated in order up to the first false."""
    result = True
    for thunk in thunks:
        v = thunk()
        if v is False:
            return False
        if v is not True:
            result = None
    return result


def _or_lazy(*thunks):
    """Three-valued `or` over many operands, evaluated in order up to the first true."""
    result = False
    for thunk in thunks:
        v = thunk()
        if v is True:
            return True
        if v is not False:
            result = None
    return result


def _and(*vals):
    if any(v is False for v in vals):
        return False
    return True if all(v is True for v in vals) else None


def _or(*vals):
    if any(v is True for v in vals):
        return True
    return False if all(v is False for v in vals) else None


def _set_entry(d, k, v):
    d[k] = v
    return v


# Python forbids `:=` anywhere inside a comprehension's iterable (even inside a lambda there), and
# generated code uses `:=` for temporaries and context literals. A loop whose source needs one is
# generated with these helpers instead of a comprehension (the source is then a plain argument).
def _each(s, src, fn):
    return [fn(x) for x in _loop(s, src)]


def _each_flat(s, src, fn):
    return [y for x in _loop(s, src) for y in fn(x)]


def _some_each(s, src, fn):
    return any(fn(x) is True for x in _loop(s, src))


def _every_each(s, src, fn):
    return all(fn(x) is True for x in _loop(s, src))


RUNTIME_NAMES = {
    "_rt": rt, "_op": _op, "_as_list": _as_list, "_item_or": _item_or, "_filter_dyn": _filter_dyn,
    "_and": _and, "_or": _or, "_any": any, "_all": all, "_set_entry": _set_entry,
    "_loop": _loop, "_and_lazy": _and_lazy, "_or_lazy": _or_lazy, "_each": _each, "_each_flat": _each_flat, "_some_each": _some_each, "_every_each": _every_each,
    "_add": rt.CTX.add, "_sub": rt.CTX.subtract, "_mul": rt.CTX.multiply, "_div": rt.CTX.divide, "_minus": rt.CTX.minus,
    "_tshift": _tshift, "_timezone": dt.timezone, "_tcmp": _tcmp, "_concat": _concat, "_lt": operator.lt, "_le": operator.le, "_gt": operator.gt,
    "_ge": operator.ge, "Decimal": Decimal, "__builtins__": {"any": any, "all": all, "isinstance": isinstance, "list": list, "dict": dict, "set": set,
                     "str": str, "tuple": tuple, "int": int, "len": len, "float": float, "bool": bool, "repr": repr,
                     "min": min, "max": max},
}


@dataclass(frozen=True)
class Site:
    """Where a run-time warning came from."""
    source: ExprSource
    span: Span
    label: str = ""

    def describe(self, message: str) -> str:
        d = self.source.diagnostic(self.span, "W-RUNTIME", message)
        return f"{d.file}:{d.line}:{d.col}: {message}"


LINK_PART_CHARS = 150_000  # see Unit.link


class Unit:
    """A compilation unit: generated functions, their constants and warning sites, linked once."""

    def __init__(self, name: str, prefix: str = "", sites: "list[Site] | None" = None):
        self.name = name
        self.prefix = prefix    # for constant names when this unit's code joins another's namespace
        self.chunks: list[str] = []
        self.consts: dict[str, object] = {}
        self._const_keys: dict[tuple, str] = {}
        self._exact: dict[str, bool] = {}  # constant name -> binary_exact(its value)
        self.sites: list[Site] = sites if sites is not None else []  # shared: one numbering of sites

    def exact_const(self, name: str) -> bool:
        """`name` is a constant and binary_exact (remembered: a constant is compared many times)."""
        if name not in self.consts:
            return False
        hit = self._exact.get(name)
        if hit is None:
            hit = self._exact[name] = binary_exact(self.consts[name])
        return hit

    def const(self, value) -> str:
        key = (type(value).__name__, value) if _hashable(value) else ("id", id(value))
        name = self._const_keys.get(key)
        if name is None:
            name = f"{self.prefix}K{len(self.consts)}"
            self.consts[name] = value
            self._const_keys[key] = name
        return name

    def site(self, source: ExprSource, span: Span, label: str = "") -> int:
        self.sites.append(Site(source, span, label))
        return len(self.sites) - 1

    def label_sites(self, first: int, label: str) -> None:
        """Name what the sites added since index `first` belong to (a rule id, `segment:x`)."""
        for k in range(first, len(self.sites)):
            site = self.sites[k]
            self.sites[k] = Site(site.source, site.span, label)

    def add_function(self, name: str, body_expr: str, comment: str = "", params: str = "_s, _v") -> None:
        """Add `def name(params): return body_expr`; constants become default arguments (fast locals)."""
        # repr() escapes every line break and control character: rule text cannot end the comment
        head = f"# {ascii(comment)}\n" if comment else ""
        self.chunks.append(f"{head}def {name}({params}):\n    return {body_expr}\n")

    def add_source(self, source: str) -> None:
        self.chunks.append(source)

    @property
    def source(self) -> str:
        return "\n".join(self.chunks)

    def link(self, extra: "dict | None" = None) -> dict:
        """Compile the generated module once and return its namespace.

        A large module is compiled and run in parts of whole chunks, in order, in the one
        namespace: CPython's compile() takes more than linear time in the length of the text it
        is given (at 10,000 rules, ~0.22 s for the ~0.95 MB at once, ~0.19 s in parts). Each part
        is preceded by as many line breaks as come before it in `source`, so every line number
        is the same as in one piece."""
        ns = dict(RUNTIME_NAMES)
        ns.update(self.consts)
        ns.update(extra or {})
        filename = f"<rules:{self.name}>"
        line = 0  # line breaks in `source` before the part
        for part in self._parts():
            exec(compile("\n" * line + part, filename, "exec"), ns)
            line += part.count("\n") + 1  # and the one that joins it to the next part
        return ns

    def _parts(self) -> "list[str]":
        """`source` cut between chunks (each whole top-level statements) into parts of about
        LINK_PART_CHARS characters: "\\n".join(parts) == source."""
        parts, group, size = [], [], 0
        for chunk in self.chunks:
            if size >= LINK_PART_CHARS:
                parts.append("\n".join(group))
                group, size = [], 0
            group.append(chunk)
            size += len(chunk) + 1
        parts.append("\n".join(group))
        return parts


def binary_exact(v) -> bool:
    """A number constant c such that, for every finite float f, `f <op> c` gives the same answer as
    `Decimal(repr(f)) <op> c` (how validation reads a JSON float): c is a float exactly, and the
    shortest repr of that float is c itself. Then a float on one side of c stays there in decimal."""
    if v.__class__ is int:
        return abs(v) <= 2 ** 53
    if v.__class__ is Decimal and v.is_finite():
        f = float(v)
        return Decimal(f) == v and Decimal(repr(f)) == v
    return False


def _hashable(v) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


class PathLocals:
    """Input paths read by a generated function, bound once to locals in its prologue.

    Only declared paths whose parents are non-null objects qualify: after validation every
    declared key exists, so the subscripts in the prologue cannot fail.
    """

    def __init__(self):
        self.names: dict[tuple[str, ...], str] = {}
        self.lines: list[str] = []
        # How often each local is read, and how many of those reads are comparisons with a number
        # constant that a binary float compares to exactly as its Decimal would (see binary_exact):
        # a number read only that way needs no conversion to Decimal (ruleset._generate_fused).
        self.reads: dict[str, int] = {}
        self.exact_reads: dict[str, int] = {}

    def local(self, path: tuple[str, ...], expr: str) -> str:
        name = self.names.get(path)
        if name is None:
            name = self.names[path] = f"F{len(self.names)}"
            self.lines.append(f"    {name} = {expr}  # {'.'.join(path)}")
        self.reads[name] = self.reads.get(name, 0) + 1
        return name

    def float_safe(self, name: str) -> bool:
        """Every read of `name` compares it with a binary-exact number constant."""
        return self.reads.get(name, 0) == self.exact_reads.get(name, 0)

    def prologue(self) -> str:
        return "\n".join(self.lines) + ("\n" if self.lines else "")


class ExprGen:
    """Turns one checked expression into a Python expression (a string)."""

    def __init__(self, unit: Unit, checked: Checked, segment_expr=None, root: str = "_v",
                 path_locals: "PathLocals | None" = None):
        self.unit = unit
        self.c = checked
        self.segment_expr = segment_expr
        self.root = root
        self.dynamic_root = True
        self.path_locals = path_locals
        self.hoisted: dict[int, str] = {}   # node id -> local holding its loop-invariant value
        self._tmp = 0

    def tmp(self) -> str:
        """A fresh local for this expression. Numbered per expression, not per unit: the rules of
        one DECIDE then reuse the same few names (each condition assigns its temporaries before
        reading them), and the function's frame stays small however many rules it holds."""
        self._tmp += 1
        return f"_t{self._tmp}"

    def generate(self, dynamic_root: bool) -> str:
        self.dynamic_root = dynamic_root
        return self.g(self.c.node)

    # -- helpers ------------------------------------------------------------------------------
    def t(self, node: n.Node) -> T.Type:
        return self.c.types.get(id(node), T.ANY)

    def site(self, node: n.Node) -> int:
        return self.unit.site(self.c.source, node.span)

    def op(self, node: n.Node, fn: str, *args: str) -> str:
        return f"_op(_s, {self.site(node)}, {fn}, {', '.join(args)})"

    @staticmethod
    def sure(t: T.Type, kind: str) -> bool:
        """A value of this type is certainly a non-null `kind` at run time."""
        return t.kind == kind and not t.nullable

    def truth(self, node: n.Node, code: str) -> str:
        """A Python condition that holds when `node` (generated as `code`) is FEEL true."""
        if self.sure(self.t(node), T.BOOLEAN_K):
            return code
        if isinstance(node, (n.String, n.Number, n.Null)):
            return "False"  # a literal that is not a boolean (`"x" is True` would be a SyntaxWarning)
        return f"({code}) is True"

    def cond(self, node: n.Node) -> str:
        """A Python expression that is truthy exactly when `node` is FEEL true, for the places
        that only ask that: rule conditions, filters, `if`. It evaluates exactly what the
        three-valued code would (so the same warnings): `and` goes left to right and stops at the
        first false, `or` at the first true. Without having to tell false from null, it needs none
        of the nested conditionals of three-valued `and`/`or`."""
        if id(node) not in self.hoisted:
            if isinstance(node, n.Or):
                return _Either("(" + " or ".join([self.cond(x) for x in node.items]) + ")")
            if isinstance(node, n.And):
                parts, checks = [], []
                for x in node.items[:-1]:
                    if self.certainly_boolean(x):
                        parts.append(_bare(self.g(x)))
                    else:  # null goes on to the next item, like false would not: test it at the end
                        tmp = self.tmp()
                        parts.append(f"({tmp} := {self.g(x)}) is not False")
                        checks.append(f"{tmp} is True")
                parts.append(self.cond(node.items[-1]))
                return _Both("(" + " and ".join(parts + checks) + ")")
        code = self.g(node)
        if code.__class__ is _Cmp and self.sure(self.t(node), T.BOOLEAN_K):
            return code[1:-1]  # what truth() gives, minus the parentheses (see _Cmp)
        return self.truth(node, code)

    def certainly_boolean(self, node: n.Node) -> bool:
        """True or false at run time, never null. The type says boolean; a call's declared result
        type is no such promise (`not(null)` is null, a failing call gives null), except for the
        functions that cannot fail when no argument can be null."""
        if not self.sure(self.t(node), T.BOOLEAN_K):
            return False
        for sub in n.walk(node):
            if isinstance(sub, n.Call) and not (
                    sub.name in _TOTAL_FUNCTIONS and all(self.sure(self.t(a), self.t(a).kind) and not self.t(a).is_any
                                                          for a in sub.args)):
                return False
        return True

    def g(self, node: n.Node) -> str:
        if self.hoisted:
            hoisted = self.hoisted.get(id(node))
            if hoisted is not None:
                return hoisted
        try:
            gen = _GEN[node.__class__]
        except KeyError:  # not a node class of nodes.py: look the method up by name, as for any class
            gen = getattr(type(self), "g_" + type(node).__name__)
        return gen(self, node)

    def hoist(self, body: n.Node) -> list[str]:
        """Loop-invariant work in a filter or loop body (`now() - duration("P7D")` inside
        `contacts[item.at > now() - duration("P7D")]`) is generated once, before the loop: returns
        the `(name := code)` assignments, and `g` then gives `name` for those nodes."""
        assigns = []
        stack = [body]
        while stack:
            x = stack.pop()
            if isinstance(x, (n.Call, n.Arith, n.Negate)) and self.invariant(x):
                code = self.g(x)
                if not code.isidentifier():  # a folded constant needs no hoisting
                    name = "_h" + self.tmp()[2:]
                    self.hoisted[id(x)] = name
                    assigns.append(f"({name} := {code})")
                continue
            stack.extend(x.children())
        return assigns

    def invariant(self, node: n.Node) -> bool:
        """No name in `node` is bound by a loop, a filter or a context literal."""
        for x in n.walk(node):
            if isinstance(x, (n.Filter, n.For, n.Quantified, n.ContextLit)):
                return False
            if isinstance(x, n.Name):
                ref = self.c.refs.get(id(x))
                if ref is None or ref.kind not in ("input", "segment"):
                    return False
        return True

    @staticmethod
    def before(assigns: list[str], expr: str) -> str:
        """`expr`, evaluated after the hoisted assignments."""
        return f"({', '.join(assigns)}, {expr})[-1]" if assigns else expr

    # -- literals and names -------------------------------------------------------------------
    def g_Number(self, node):
        # A whole number is an int constant: validated inputs keep JSON integers as int, and
        # int-to-int comparison is several times cheaper than int-to-Decimal (same result).
        v = node.value
        if v == v.to_integral_value() and abs(v) < 2 ** 62:
            return self.unit.const(int(v))
        return self.unit.const(v)
    def g_String(self, node): return repr(node.value)
    def g_Boolean(self, node): return repr(node.value)
    def g_Null(self, node): return "None"

    def g_Temporal(self, node):
        from .literals import parse_temporal_literal
        return self.unit.const(parse_temporal_literal(node.text))

    def ref(self, ref: Ref) -> str:
        if ref.kind == "input":
            return f"{self.root}.get({ref.name!r})" if self.dynamic_root else f"{self.root}[{ref.name!r}]"
        if ref.kind == "segment":
            return self.segment_expr(ref.name)
        if ref.kind == "local":
            return ref.name
        if ref.kind == "item_field":
            return f"{ref.name}[{ref.key!r}]"
        if ref.kind == "item_or_input":
            return f"_item_or({ref.name}, {ref.key!r}, {self.root})"
        raise AssertionError(ref.kind)

    def g_Name(self, node):
        ref = self.c.refs[id(node)]
        if self.path_locals is not None and ref.kind == "input" and not self.dynamic_root:
            return self.path_locals.local((ref.name,), self.ref(ref))
        return self.ref(ref)

    def input_path(self, node: n.Node) -> "tuple[str, ...] | None":
        """The field names of `customer.tier`-like paths into the validated input, else None."""
        if isinstance(node, n.Name):
            ref = self.c.refs.get(id(node))
            return (ref.name,) if ref is not None and ref.kind == "input" and not self.dynamic_root else None
        if isinstance(node, n.Path):
            base_t = self.t(node.base)
            if base_t.kind == T.OBJECT_K and not base_t.nullable and base_t.fields is not None \
                    and base_t.field(node.name) is not None:
                base = self.input_path(node.base)
                return base + (node.name,) if base is not None else None
        return None

    def g_Path(self, node: n.Path):
        if self.path_locals is not None:
            path = self.input_path(node)
            if path is not None:
                if path in self.path_locals.names:  # bound already: the base is not read
                    return self.path_locals.local(path, "")
                return self.path_locals.local(path, f"{self.g(node.base)}[{node.name!r}]")
        base_t = self.t(node.base)
        base = self.g(node.base)
        if base_t.kind == T.OBJECT_K and base_t.fields is not None and base_t.field(node.name) is not None:
            if not base_t.nullable:
                return f"{base}[{node.name!r}]"
            tmp = self.tmp()
            return f"(None if ({tmp} := {base}) is None else {tmp}[{node.name!r}])"
        return self.op(node, "_rt.get_property", base, repr(node.name))

    def g_Filter(self, node: n.Filter):
        base_t = self.t(node.base)
        cond_t = self.t(node.cond)
        base = self.g(node.base)
        if cond_t.kind == T.NUMBER_K:
            return self.op(node, "_rt.index", base, self.g(node.cond))
        local = self._item_local(node)
        hoisted = self.hoist(node.cond) if cond_t.kind in (T.BOOLEAN_K, T.NULL_K) else []
        if cond_t.kind in (T.BOOLEAN_K, T.NULL_K):
            test = self.cond(node.cond)
            if base_t.kind == T.LIST_K and not base_t.nullable and ":=" not in base:
                loop = f"[{local} for {local} in _loop(_s, {base}) if {test}]"
                if _PURE_READ.match(base):  # an empty list skips making the comprehension
                    loop = f"({loop} if {base} else [])"
                return self.before(hoisted, loop)
            tmp = self.tmp()
            return self.before(hoisted, f"(None if ({tmp} := {base}) is None else "
                                        f"[{local} for {local} in _loop(_s, {tmp}) if {test}])")
        return f"_filter_dyn(_s, {self.site(node)}, {base}, lambda {local}: {self.g(node.cond)})"

    def _item_local(self, node: n.Filter) -> str:
        # the checker named the filter's item local; find it through any reference in the condition
        for sub in n.walk(node.cond):
            ref = self.c.refs.get(id(sub))
            if ref and ref.kind in ("local", "item_field", "item_or_input") and ref.name.startswith("_i"):
                return ref.name
        return self.tmp()

    def g_Call(self, node: n.Call):
        from .builtins import BUILTINS
        fast = self.fast_call(node)
        if fast is not None:
            return fast
        fn = BUILTINS[node.name]
        folded = self.fold_call(fn, node)
        if folded is not None:
            return folded
        args = [self.g(a) for a in node.args]
        if fn.needs_clock:
            args.insert(0, _CLOCK)
        return self.op(node, self.unit.const(fn.fn), *args) if args else f"_op(_s, {self.site(node)}, {self.unit.const(fn.fn)})"

    def fold_call(self, fn, node: n.Call) -> "str | None":
        """`duration("P90D")`, `date("2026-11-27")`: a call of a clock-free built-in on literals is
        evaluated once, at compile time. A call that fails is left for run time, where it gives
        null and its warning like any other."""
        if fn.needs_clock or not all(isinstance(a, (n.String, n.Number, n.Boolean)) for a in node.args):
            return None
        try:
            value = fn.fn(*[a.value for a in node.args])
        except Exception:  # noqa: BLE001 - any failure is reported when the rule runs
            return None
        if value is None or isinstance(value, (list, dict)):  # only immutable values are shared
            return None
        return self.unit.const(value)

    def fast_call(self, node: n.Call) -> "str | None":
        """Plain Python for calls whose argument types make FEEL's semantics Python's own."""
        args = node.args
        if node.name == "not" and len(args) == 1 and self.certainly_boolean(args[0]):
            return _Cmp(f"(not {_bare(self.g(args[0]))})")
        if node.name == "now" and not args:  # the decision clock is always an aware datetime
            return _CLOCK
        if node.name == "today" and not args:
            return f"{_CLOCK}.date()"
        if node.name == "count" and len(args) == 1 and self.sure(self.t(args[0]), T.LIST_K):
            return f"len({self.g(args[0])})"
        if node.name in ("min", "max") and args:
            # min([a, b]) or min(a, b) of numbers that cannot be null: Python orders ints and
            # Decimals exactly, as FEEL orders numbers
            items = self.min_max_items(node)
            if items and all(self.certain_number(x) for x in items):
                code = [self.g(x) for x in items]
                return code[0] if len(code) == 1 else f"{node.name}({', '.join(code)})"
        if node.name == "list contains" and len(args) == 2:
            lst, x = self.t(args[0]), self.t(args[1])
            elem = lst.elem if lst.kind == T.LIST_K else None
            if elem is not None and not elem.nullable and elem.kind == x.kind and x.kind in _SIMPLE_EQ - {T.BOOLEAN_K} \
                    and not x.nullable:
                a, b = self.g(args[0]), self.g(args[1])
                if not lst.nullable:
                    return _Cmp(f"({b} in {a})")
                tmp = self.tmp()
                return f"(None if ({tmp} := {a}) is None else {b} in {tmp})"
        return None

    # -- operators ----------------------------------------------------------------------------
    def g_Negate(self, node):
        x = self.g(node.operand)
        if self.sure(self.t(node.operand), T.NUMBER_K):
            return f"_minus({x})"
        return self.op(node, "_rt.neg", x)

    def g_Arith(self, node: n.Arith):
        lt, rt_ = self.t(node.left), self.t(node.right)
        a, b = self.g(node.left), self.g(node.right)
        if node.op in _CTX_ARITH and self.certain_number(node.left) and self.certain_number(node.right):
            return f"{_CTX_ARITH[node.op]}({a}, {b})"
        if self.safe_division(node):
            return f"_div({a}, {b})"
        if node.op == "+" and lt.kind == rt_.kind == T.STRING_K:
            return f"_concat(_s, {self.site(node)}, {a}, {b})"
        if node.op in ("+", "-") and lt.kind in (T.DATE_K, T.DATETIME_K) and \
                rt_.kind in (T.DT_DURATION_K, T.YM_DURATION_K, T.DURATION_K):
            shift = f"_tshift(_s, {self.site(node)}, {1 if node.op == '+' else -1}, {{}}, {b})"
            k = self.unit.consts.get(b)
            clock = node.left.name if isinstance(node.left, n.Call) and not node.left.args else None
            if isinstance(k, dt.timedelta) and (clock == "now" or clock == "today" and not k.seconds
                                                 and not k.microseconds):
                # `now() - duration("P90D")`, the recency window of so many rules (or whole days
                # off `today()`): Python's own arithmetic when the result is in range (a bound
                # computed here) and, for the clock, when it has a fixed offset (as the service's
                # always has); otherwise the runtime, which reports what fails
                earliest, latest = (_EARLIEST, _LATEST) if clock == "now" else (_EARLIEST.date(), _LATEST.date())
                try:
                    edge = self.unit.const(earliest + k if node.op == "-" else latest - k)
                except OverflowError:
                    return shift.format(a)
                tmp = self.tmp()
                value = f"({tmp} := {a})" if clock == "today" else \
                    f"({tmp} := {a}).tzinfo.__class__ is _timezone and {tmp}"
                test = f"{value} {'>' if node.op == '-' else '<'} {edge}"
                return f"({tmp} {node.op} {b} if {test} else {shift.format(tmp)})"
            return shift.format(a)
        return self.op(node, f"_rt.{_RT_ARITH[node.op]}", a, b)

    def safe_division(self, node: n.Node) -> bool:
        """A number divided by a literal of magnitude 1 or more: never a division by zero, never
        an overflow, so never null (whatever type the checker gave division in general)."""
        return isinstance(node, n.Arith) and node.op == "/" and self.sure(self.t(node.left), T.NUMBER_K) \
            and isinstance(node.right, n.Number) and abs(node.right.value) >= 1

    def certain_number(self, node: n.Node) -> bool:
        """A non-null number at run time: by its checked type, or built from such numbers by
        operations that cannot fail on them (which the checker types as possibly null)."""
        if self.sure(self.t(node), T.NUMBER_K) or self.safe_division(node):
            return True
        if isinstance(node, n.Arith):
            return node.op in _CTX_ARITH and self.certain_number(node.left) and self.certain_number(node.right)
        if isinstance(node, n.Call) and node.name in ("min", "max"):
            return bool(self.min_max_items(node)) and all(self.certain_number(x) for x in self.min_max_items(node))
        return False

    @staticmethod
    def min_max_items(node: n.Call) -> tuple:
        """The values compared by min([a, b]) or min(a, b); () for any other shape."""
        args = node.args
        if len(args) == 1 and isinstance(args[0], n.ListLit):
            return args[0].items
        return args if len(args) > 1 else ()

    def exact_read(self, local: str, *consts: str) -> None:
        """Note a comparison of a path local with number constants (see PathLocals.float_safe)."""
        loc = self.path_locals
        if loc is not None and local in loc.reads and all(self.unit.exact_const(c) for c in consts):
            loc.exact_reads[local] = loc.exact_reads.get(local, 0) + 1

    def compare(self, node: n.Node, op: str, lt: T.Type, rt_: T.Type, a: str, b: str) -> str:
        if lt.kind == rt_.kind == T.NUMBER_K:  # always a native comparison below
            self.exact_read(a, b)
            self.exact_read(b, a)
        if op in ("=", "!=") and T.NULL_K in (lt.kind, rt_.kind):  # `x = null`: true exactly when x is null
            x = b if lt.kind == T.NULL_K else a
            return _Cmp(f"({x} {'is' if op == '=' else 'is not'} None)")
        if op in ("=", "!=") and lt.kind == rt_.kind and lt.kind in _SIMPLE_EQ:
            return _Cmp(f"({a} {_PY_CMP[op]} {b})")
        if lt.kind == rt_.kind and lt.kind in _NATIVE_ORDER:
            if not lt.nullable and not rt_.nullable:
                return _Cmp(f"({a} {_PY_CMP[op]} {b})")
            ta, tb = self.tmp(), self.tmp()
            return f"(None if ({ta} := {a}) is None or ({tb} := {b}) is None else {ta} {_PY_CMP[op]} {tb})"
        if op not in ("=", "!=") and lt.kind == rt_.kind and lt.kind in (T.DATETIME_K, T.TIME_K, T.DT_DURATION_K):
            return f"_tcmp(_s, {self.site(node)}, _{_RT_CMP[op]}, _rt.{_RT_CMP[op]}, {a}, {b})"
        return self.op(node, f"_rt.{_RT_CMP[op]}", a, b)

    def g_Compare(self, node: n.Compare):
        return self.compare(node, node.op, self.t(node.left), self.t(node.right), self.g(node.left), self.g(node.right))

    def g_And(self, node: n.And):
        parts = [self.g(x) for x in node.items]
        if all(self.certainly_boolean(x) for x in node.items):
            return "(" + " and ".join([_bare(p) for p in parts]) + ")"
        if len(parts) > _MAX_INLINE_LOGIC:  # nested conditionals would exceed Python's parenthesis limit
            return "_and_lazy(" + ", ".join(f"lambda: {p}" for p in parts) + ")"
        # three-valued, short-circuit on the first false
        expr = parts[-1]
        acc = expr if self.sure(self.t(node.items[-1]), T.BOOLEAN_K) else f"_and({expr})"
        for part in reversed(parts[:-1]):
            tmp, rest = self.tmp(), self.tmp()
            acc = (f"(False if ({tmp} := {part}) is False else "
                   f"(False if ({rest} := {acc}) is False else (True if {tmp} is True and {rest} is True else None)))")
        return acc

    def g_Or(self, node: n.Or):
        parts = [self.g(x) for x in node.items]
        if all(self.certainly_boolean(x) for x in node.items):
            return "(" + " or ".join([_bare(p) for p in parts]) + ")"
        if len(parts) > _MAX_INLINE_LOGIC:
            return "_or_lazy(" + ", ".join(f"lambda: {p}" for p in parts) + ")"
        expr = parts[-1]
        acc = expr if self.sure(self.t(node.items[-1]), T.BOOLEAN_K) else f"_or({expr})"
        for part in reversed(parts[:-1]):
            tmp, rest = self.tmp(), self.tmp()
            acc = (f"(True if ({tmp} := {part}) is True else "
                   f"(True if ({rest} := {acc}) is True else (False if {tmp} is False and {rest} is False else None)))")
        return acc

    def g_Between(self, node: n.Between):
        vt, lo, hi = self.t(node.value), self.t(node.low), self.t(node.high)
        x, a, b = self.g(node.value), self.g(node.low), self.g(node.high)
        if all(self.sure(t, T.NUMBER_K) for t in (vt, lo, hi)):
            self.exact_read(x, a, b)
            return _Cmp(f"({a} <= {x} <= {b})")
        if all(self.sure(t, T.DATE_K) for t in (vt, lo, hi)):
            return _Cmp(f"({a} <= {x} <= {b})")
        return self.op(node, "_rt.between", x, a, b)

    def g_In(self, node: n.In):
        vt = self.t(node.value)
        x = self.g(node.value)
        tests = node.test.items if isinstance(node.test, n.Tests) else (node.test,)
        if len(tests) > 1 and vt.kind in (T.STRING_K, T.NUMBER_K) and \
                all(isinstance(t, (n.String, n.Number)) and self.t(t).kind == vt.kind for t in tests):
            # x in ("gold", "platinum"): one hash lookup (Python equality is FEEL's for these kinds)
            return self.test(node, x, vt, n.ListLit(node.test.span, tests))
        if len(tests) > 1:
            tmp = self.tmp()
            first = self.test(node, f"({tmp} := {x})", vt, tests[0])
            rest = [self.test(node, tmp, vt, t) for t in tests[1:]]
            return f"_or({first}, {', '.join(rest)})"
        return self.test(node, x, vt, tests[0])

    def test(self, node: n.Node, x: str, vt: T.Type, test: n.Node) -> str:
        if isinstance(test, n.UnaryTest):
            return self.compare(test, test.op, vt, self.t(test.operand), x, self.g(test.operand))
        tt = self.t(test)
        if isinstance(test, n.ListLit) and test.items and vt.kind in (T.STRING_K, T.NUMBER_K) \
                and all(isinstance(i, (n.String, n.Number)) for i in test.items) \
                and all(isinstance(i, n.String) == (vt.kind == T.STRING_K) for i in test.items):
            values = frozenset(i.value for i in test.items)
            expr = _Cmp(f"({x} in {self.unit.const(values)})")
            if vt.nullable:
                tmp = self.tmp()
                return f"(None if ({tmp} := {x}) is None else {tmp} in {self.unit.const(values)})"
            return expr
        if isinstance(test, n.RangeLit) and vt.kind == T.NUMBER_K and \
                self.sure(self.t(test.start), T.NUMBER_K) and self.sure(self.t(test.end), T.NUMBER_K):
            lo_op = "<=" if test.start_incl else "<"
            hi_op = "<=" if test.end_incl else "<"
            lo, hi = self.g(test.start), self.g(test.end)
            self.exact_read(x, lo, hi)
            if vt.nullable:
                tmp = self.tmp()
                return f"(None if ({tmp} := {x}) is None else {lo} {lo_op} {tmp} {hi_op} {hi})"
            return _Cmp(f"({lo} {lo_op} {x} {hi_op} {hi})")
        if tt.kind not in (T.LIST_K, T.RANGE_K, T.ANY_K) and vt.kind == tt.kind and vt.kind in _SIMPLE_EQ:
            return _Cmp(f"({x} == {self.g(test)})")
        return self.op(test, "_rt.in_test", x, self.g(test))

    def g_UnaryTest(self, node):  # only reachable after a checker error
        raise AssertionError("unary test outside 'in'")

    def g_Tests(self, node: n.Tests):
        # outside `in`, the checker only lets through a single unary test: a range value `(< 10)`
        (test,) = node.items
        if not isinstance(test, n.UnaryTest):
            raise AssertionError("list of tests outside 'in'")
        return self.op(node, "_rt.unary_range", repr(test.op), self.g(test.operand))

    # -- constructors ---------------------------------------------------------------------------
    def g_ListLit(self, node):
        return "[" + ", ".join(self.g(x) for x in node.items) + "]"

    def g_ContextLit(self, node: n.ContextLit):
        local = self.c.refs[id(node)].name
        if not node.entries:
            return "{}"
        parts = [f"({local} := {{}})"]
        parts += [f"_set_entry({local}, {k!r}, {self.g(v)})" for k, v in node.entries]
        return f"({', '.join(parts)}, {local})[-1]"

    def g_RangeLit(self, node: n.RangeLit):
        return self.op(node, "_rt.range_of", self.g(node.start), self.g(node.end),
                       repr(node.start_incl), repr(node.end_incl))

    def g_If(self, node: n.If):
        test = self.cond(node.cond)
        return f"({self.g(node.then)} if {test} else {self.g(node.else_)})"

    def loops(self, iters) -> "list[tuple[str, str]]":
        """(loop local, source expression) of each `name in source`."""
        out = []
        for it in iters:
            ref = self.c.refs[id(it)]
            src_t = self.c.types.get(id(it), T.ANY)
            src = self.g(it.source)
            if src_t.kind == T.RANGE_K:
                src = self.op(it.source, "_rt.range_items", src)
            out.append((ref.name, src))
        return out

    @staticmethod
    def comprehension(loops) -> "str | None":
        """The `for ... in ...` clauses, or None when a source uses `:=` (not allowed there)."""
        if any(":=" in src for _, src in loops):
            return None
        return " ".join(f"for {var} in _loop(_s, {src})" for var, src in loops)

    def g_For(self, node: n.For):
        loops, body = self.loops(node.iterations), self.g(node.body)
        clauses = self.comprehension(loops)
        if clauses is not None:
            return f"[{body} {clauses}]"
        var, src = loops[-1]
        expr = f"_each(_s, {src}, lambda {var}: {body})"
        for var, src in reversed(loops[:-1]):
            expr = f"_each_flat(_s, {src}, lambda {var}: {expr})"
        return expr

    def g_Quantified(self, node: n.Quantified):
        loops = self.loops(node.iterations)
        clauses = self.comprehension(loops)
        if clauses is not None:
            hoisted = self.hoist(node.cond)
            # any()/all() over the comprehension itself, of the truth-only form of the condition:
            # `some` is true when one test is true, `every` when all are (null counts as not true)
            test = f"{'_any' if node.kind == 'some' else '_all'}({unparen_test(self.cond(node.cond))} {clauses})"
            if len(loops) == 1 and _PURE_READ.match(loops[0][1]) and \
                    self.c.types.get(id(node.iterations[0]), T.ANY).kind == T.LIST_K:
                # an empty list (or null) visits nothing: false for `some`, true for `every`
                test = f"({test} if {loops[0][1]} else {node.kind == 'every'})"
            return self.before(hoisted, test)
        fn = "_some_each" if node.kind == "some" else "_every_each"
        expr = self.g(node.cond)
        for var, src in reversed(loops):
            expr = f"{fn}(_s, {src}, lambda {var}: {expr})"
        return expr


# A read that may be repeated at no risk and little cost: a local, or subscripts of one by literal
# keys (`Xf19`, `_v['purchases']`, `L_c_1['items']`).
_PURE_READ = re.compile(r"[A-Za-z_]\w*(?:\['[^'\\]*'\])*\Z")

_GEN = n.methods_by_class(ExprGen, "g_")
