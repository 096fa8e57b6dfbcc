"""Resolve names and infer types of a parsed expression; collect every problem as a diagnostic.

With a schema, a type mismatch the checker can prove is an error. Without one (names dynamically
typed), the same mismatch between literals is only a warning, because FEEL defines it: the value is
null at run time.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import nodes as n
from . import typesys as T
from .diagnostics import ERROR, WARNING, Diagnostic, ExprSource, Span, suggest
from .typesys import Type

# Properties of temporal values and ranges (FEEL names) and their types.
_DATE_PROPS = {"year": T.NUMBER, "month": T.NUMBER, "day": T.NUMBER, "weekday": T.NUMBER}
_TIME_PROPS = {"hour": T.NUMBER, "minute": T.NUMBER, "second": T.NUMBER,
               "time offset": T.DT_DURATION.as_nullable(), "timezone": T.STRING.as_nullable()}
PROPERTIES = {
    T.DATE_K: _DATE_PROPS,
    T.DATETIME_K: {**_DATE_PROPS, **_TIME_PROPS},
    T.TIME_K: _TIME_PROPS,
    T.DT_DURATION_K: {"days": T.NUMBER, "hours": T.NUMBER, "minutes": T.NUMBER, "seconds": T.NUMBER},
    T.YM_DURATION_K: {"years": T.NUMBER, "months": T.NUMBER},
}
PROPERTIES[T.DURATION_K] = {k: v.as_nullable() for k, v in {**PROPERTIES[T.DT_DURATION_K], **PROPERTIES[T.YM_DURATION_K]}.items()}


def _open_item(t: Type) -> bool:
    """A filter item whose fields are not known statically (any value, or contexts of varying shape)."""
    return t.is_any or (t.kind == T.OBJECT_K and t.fields is None)


@dataclass(frozen=True)
class Ref:
    """What a name in the expression refers to.

    kind: `input` (a top-level context field), `segment` (a named segment), `local` (a loop
    variable or filter `item`, `name` is the Python local), `item_field` (a field of the current
    filter item: `name` is the item's local, `key` the field), `item_or_input` (dynamic: the item's
    field if it has one, else the input field `key`).
    """
    kind: str
    name: str
    type: Type
    key: str = ""


@dataclass
class Env:
    """The names an expression may use: a schema (None = dynamic) and named segments."""
    schema: "Type | None" = None
    segments: dict[str, Type] = field(default_factory=dict)
    # field name -> (schema, its input Ref): a ruleset's expressions read the same few fields
    # tens of thousands of times, and a Ref is an immutable value that they can share
    input_refs: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def dynamic(self) -> bool:
        return self.schema is None


@dataclass
class Checked:
    """A parsed expression with its resolved names and inferred types."""
    node: n.Node
    source: ExprSource
    type: Type
    types: dict[int, Type]
    refs: dict[int, Ref]
    diagnostics: list[Diagnostic]
    segments_used: set[str] = field(default_factory=set)

    def type_of(self, node: n.Node) -> Type:
        return self.types[id(node)]

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


def check(node: n.Node, source: ExprSource, env: Env, expect: "Type | None" = None, what: str = "expression") -> Checked:
    """Check `node`; `expect` (e.g. BOOLEAN for a `when`) adds a diagnostic when the result cannot be that."""
    c = _Checker(source, env)
    t = c.visit(node, [])
    if expect is not None and not T.assignable(t, expect):
        c.error(node.span, "E-TYPE", f"{what} must be {T.describe(expect)}, but this is {T.describe(t)}")
    return Checked(node, source, t, c.types, c.refs, c.diags, c.segments_used)


_ARITH_RULES = {
    # (op, left kind, right kind) -> result type
    ("+", T.NUMBER_K, T.NUMBER_K): T.NUMBER, ("-", T.NUMBER_K, T.NUMBER_K): T.NUMBER,
    ("*", T.NUMBER_K, T.NUMBER_K): T.NUMBER, ("/", T.NUMBER_K, T.NUMBER_K): T.NUMBER.as_nullable(),
    ("**", T.NUMBER_K, T.NUMBER_K): T.NUMBER.as_nullable(), ("+", T.STRING_K, T.STRING_K): T.STRING,
}
for _tk in (T.DATE_K, T.DATETIME_K, T.TIME_K):
    for _dk in (T.DT_DURATION_K, T.YM_DURATION_K, T.DURATION_K):
        _res = Type(_tk, nullable=(_tk == T.TIME_K and _dk != T.DT_DURATION_K) or _dk == T.DURATION_K)
        _ARITH_RULES[("+", _tk, _dk)] = _res
        _ARITH_RULES[("-", _tk, _dk)] = _res
        if _tk != T.TIME_K:
            _ARITH_RULES[("+", _dk, _tk)] = _res
    _ARITH_RULES[("-", _tk, _tk)] = T.DT_DURATION
_ARITH_RULES[("-", T.DATETIME_K, T.DATE_K)] = T.DT_DURATION
_ARITH_RULES[("-", T.DATE_K, T.DATETIME_K)] = T.DT_DURATION
for _a in (T.DT_DURATION_K, T.YM_DURATION_K, T.DURATION_K):
    for _b in (T.DT_DURATION_K, T.YM_DURATION_K, T.DURATION_K):
        if _a == _b or T.DURATION_K in (_a, _b):
            _res = Type(_a if _a == _b else T.DURATION_K, nullable=_a != _b)
            _ARITH_RULES[("+", _a, _b)] = _res
            _ARITH_RULES[("-", _a, _b)] = _res
            _ARITH_RULES[("/", _a, _b)] = T.NUMBER.as_nullable()
    _ARITH_RULES[("*", _a, T.NUMBER_K)] = Type(_a)
    _ARITH_RULES[("*", T.NUMBER_K, _a)] = Type(_a)
    _ARITH_RULES[("/", _a, T.NUMBER_K)] = Type(_a, nullable=True)

_ANY_OR_NULL = frozenset({T.ANY_K, T.NULL_K})
_EQ_OPS = frozenset({"=", "!="})
_ORDERED = {T.NUMBER_K, T.STRING_K, T.DATE_K, T.DATETIME_K, T.TIME_K, T.DT_DURATION_K, T.YM_DURATION_K, T.DURATION_K}


class _Checker:
    def __init__(self, source: ExprSource, env: Env):
        self.src = source
        self.env = env
        self.types: dict[int, Type] = {}
        self.refs: dict[int, Ref] = {}
        self.diags: list[Diagnostic] = []
        self.segments_used: set[str] = set()
        self._fresh = 0

    # -- reporting --------------------------------------------------------------------------
    def error(self, span: Span, code: str, msg: str) -> None:
        self.diags.append(self.src.diagnostic(span, code, msg, ERROR))

    def type_error(self, span: Span, msg: str, code: str = "E-TYPE") -> None:
        """A provable type mismatch: an error against a schema, a warning when names are dynamic."""
        self.diags.append(self.src.diagnostic(span, code, msg, WARNING if self.env.dynamic else ERROR))

    def text(self, node: n.Node) -> str:
        s = self.src.text[node.span.start:node.span.end]
        return s if len(s) <= 60 else s[:57] + "..."

    def fresh(self, prefix: str) -> str:
        self._fresh += 1
        return f"{prefix}{self._fresh}"

    # -- dispatch ---------------------------------------------------------------------------
    def visit(self, node: n.Node, scope: list[dict[str, Ref]]) -> Type:
        try:
            visitor = _VISIT[node.__class__]
        except KeyError:  # not a node class of nodes.py: look the method up by name, as for any class
            visitor = getattr(type(self), "v_" + type(node).__name__)
        t = visitor(self, node, scope)
        self.types[id(node)] = t
        return t

    def v_Number(self, node, scope): return T.NUMBER
    def v_String(self, node, scope): return T.STRING
    def v_Boolean(self, node, scope): return T.BOOLEAN
    def v_Null(self, node, scope): return T.NULL

    def v_Temporal(self, node, scope):
        from .literals import parse_temporal_literal, type_of_value
        from .runtime import FeelError
        try:
            value = parse_temporal_literal(node.text)
        except FeelError as e:
            self.error(node.span, "E-BAD-LITERAL", f"invalid temporal literal @{node.text!r}: {e}")
            return T.ANY
        return type_of_value(value)

    # -- names ------------------------------------------------------------------------------
    def lookup(self, name: str, scope: list[dict[str, Ref]]) -> "Ref | None":
        for frame in reversed(scope):
            if name in frame:
                return frame[name]
        if name in self.env.segments:
            self.segments_used.add(name)
            return Ref("segment", name, self.env.segments[name])
        if self.env.schema is None:
            # Inside a filter over dynamically typed items, a bare name may be a field of `item`.
            for frame in reversed(scope):
                if "item" in frame and _open_item(frame["item"].type):
                    return Ref("item_or_input", frame["item"].name, T.ANY, key=name)
            return Ref("input", name, T.ANY)
        schema = self.env.schema
        hit = self.env.input_refs.get(name)
        if hit is not None and hit[0] is schema:
            return hit[1]
        t = schema.field(name)
        ref = Ref("input", name, t) if t is not None else None
        self.env.input_refs[name] = (schema, ref)
        return ref

    def visible_names(self, scope) -> list[str]:
        names = [k for frame in scope for k in frame]
        names += list(self.env.segments)
        if self.env.schema is not None:
            names += [k for k, _ in self.env.schema.fields or ()]
        return names

    def v_Name(self, node: n.Name, scope):
        ref = self.lookup(node.name, scope)
        if ref is None:
            best = suggest(node.name, self.visible_names(scope))
            hint = f" (did you mean '{best}'?)" if best else ""
            self.error(node.span, "E-UNKNOWN-FIELD", f"unknown field '{node.name}'{hint}")
            return T.ANY
        self.refs[id(node)] = ref
        return ref.type

    def dotted(self, node: n.Node) -> "str | None":
        if isinstance(node, n.Name):
            return node.name
        if isinstance(node, n.Path):
            base = self.dotted(node.base)
            return base and f"{base}.{node.name}"
        return None

    def v_Path(self, node: n.Path, scope):
        base = self.visit(node.base, scope)
        return self.member(node, base, node.name)

    def member(self, node: n.Path, base: Type, name: str) -> Type:
        if base.is_any or base.kind == T.NULL_K:
            return T.ANY
        if base.kind == T.LIST_K:  # projection: purchases.amount is the list of amounts
            elem = self.member(node, base.elem or T.ANY, name)
            return T.list_of(elem, base.nullable)
        if base.kind == T.OBJECT_K:
            if base.fields is None:
                return T.ANY
            ft = base.field(name)
            if ft is None:
                path = self.dotted(node) or name
                best = suggest(name, [k for k, _ in base.fields])
                hint = ""
                if best:
                    prefix = path.rsplit(".", 1)[0] + "." if "." in path else ""
                    hint = f" (did you mean '{prefix}{best}'?)"
                # against a schema an error; without one (a context literal) FEEL gives null: a warning
                self.type_error(node.span, f"unknown field '{path}'{hint}", "E-UNKNOWN-FIELD")
                return T.ANY
            return ft.as_nullable(ft.nullable or base.nullable)
        if base.kind == T.RANGE_K:
            props = {"start": base.elem or T.ANY, "end": base.elem or T.ANY,
                     "start included": T.BOOLEAN, "end included": T.BOOLEAN}
        else:
            props = PROPERTIES.get(base.kind, {})
        if name in props:
            return props[name].as_nullable(props[name].nullable or base.nullable)
        best = suggest(name, props)
        hint = f" (did you mean '{best}'?)" if best else ""
        self.type_error(node.span, f"{T.describe(base)} has no property '{name}'{hint}", "E-UNKNOWN-FIELD")
        return T.ANY

    def v_Filter(self, node: n.Filter, scope):
        base = self.visit(node.base, scope)
        if base.kind == T.LIST_K:
            elem = base.elem or T.ANY
        elif base.is_any or base.kind == T.NULL_K:
            elem = T.ANY
        else:
            elem = base  # FEEL treats a single value as a one-element list
        local = self.fresh("_i")
        frame = {"item": Ref("local", local, elem)}
        if elem.kind == T.OBJECT_K and elem.fields:
            for k, ft in elem.fields:
                frame.setdefault(k, Ref("item_field", local, ft, key=k))
        cond = self.visit(node.cond, scope + [frame])
        if cond.kind == T.NUMBER_K:
            self.types[id(node.cond)] = cond
            # index uses the outer scope; re-check so names resolve there
            return elem.as_nullable(True)
        if cond.kind in (T.BOOLEAN_K, T.ANY_K, T.NULL_K):
            return T.list_of(elem, base.nullable)
        self.type_error(node.cond.span, f"a filter must be boolean (or a number to index), but this is {T.describe(cond)}")
        return T.ANY

    # -- calls ------------------------------------------------------------------------------
    def v_Call(self, node: n.Call, scope):
        from .builtins import BUILTINS
        args = [self.visit(a, scope) for a in node.args]
        fn = BUILTINS.get(node.name)
        if fn is None:
            best = suggest(node.name, BUILTINS)
            hint = f" (did you mean '{best}'?)" if best else ""
            self.error(node.name_span, "E-UNKNOWN-FUNCTION", f"unknown function '{node.name}'{hint}")
            return T.ANY
        if len(args) < fn.min_args or (fn.max_args is not None and len(args) > fn.max_args):
            want = (f"{fn.min_args}" if fn.max_args == fn.min_args else
                    f"{fn.min_args} or more" if fn.max_args is None else f"{fn.min_args} to {fn.max_args}")
            sig = ", ".join(f"{p}: {T.describe(t)}" for p, t in fn.params)
            self.error(node.span, "E-ARGS", f"'{node.name}' takes {want} argument{'s' if want != '1' else ''} "
                                            f"({sig}), got {len(args)}")
            return T.ANY
        for i, (a, at) in enumerate(zip(node.args, args)):
            if not fn.params:
                break
            pname, pt = fn.params[min(i, len(fn.params) - 1)]
            if pt.kind == T.LIST_K and at.kind != T.LIST_K and not at.is_any:
                at = T.list_of(at)  # FEEL: a single value where a list is expected is a one-element list
            if not T.assignable(at, pt):
                self.type_error(a.span, f"argument {i + 1} ('{pname}') of '{node.name}' must be "
                                        f"{T.describe(pt)}, but this is {T.describe(at)}", "E-ARGS")
        result = fn.result(args) if callable(fn.result) else fn.result
        return result

    # -- operators --------------------------------------------------------------------------
    def v_Negate(self, node: n.Negate, scope):
        t = self.visit(node.operand, scope)
        if t.is_any or t.kind == T.NULL_K:
            return T.ANY
        if t.kind == T.NUMBER_K or t.is_duration:
            return t
        self.type_error(node.span, f"cannot negate {T.describe(t)}")
        return T.ANY

    def v_Arith(self, node: n.Arith, scope):
        lt = self.visit(node.left, scope)
        rt = self.visit(node.right, scope)
        if lt.is_any or rt.is_any or lt.kind == T.NULL_K or rt.kind == T.NULL_K:
            if lt.kind == rt.kind == T.NUMBER_K:
                return T.NUMBER.as_nullable()
            return T.ANY
        res = _ARITH_RULES.get((node.op, lt.kind, rt.kind))
        if res is None:
            verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "**": "raise"}[node.op]
            self.type_error(node.span, f"cannot {verb} {T.describe(lt)} and {T.describe(rt)} with '{node.op}'")
            return T.ANY
        return res.as_nullable(res.nullable or lt.nullable or rt.nullable)

    def comparable(self, span: Span, op: str, lt: Type, rt: Type, left: n.Node, right: n.Node) -> None:
        kind = lt.kind
        if kind == rt.kind and lt.values is None and rt.values is None and (kind in _ORDERED or op in _EQ_OPS):
            return  # the common case, as below: the same kind (same_kind holds), ordered or `=`, no enum
        if lt.kind in _ANY_OR_NULL or rt.kind in _ANY_OR_NULL:
            return
        if not T.same_kind(lt, rt) and not {lt.kind, rt.kind} <= {T.DATE_K, T.DATETIME_K}:
            self.type_error(span, f"cannot compare {T.describe(lt)} with {T.describe(rt)}")
            return
        if op not in ("=", "!=") and lt.kind not in _ORDERED:
            self.type_error(span, f"'{op}' does not apply to {T.describe(lt)}")
            return
        for enum_t, other in ((lt, right), (rt, left)):
            if enum_t.is_enum and isinstance(other, n.String) and other.value not in enum_t.values:
                best = suggest(other.value, enum_t.values)
                hint = f" (did you mean '{best}'?)" if best else ""
                self.type_error(other.span, f"'{other.value}' is not one of {T.describe(enum_t.as_nullable(False))}{hint}")

    def v_Compare(self, node: n.Compare, scope):
        lt = self.visit(node.left, scope)
        rt = self.visit(node.right, scope)
        self.comparable(node.span, node.op, lt, rt, node.left, node.right)
        nullable = node.op not in ("=", "!=") and (lt.nullable or rt.nullable or lt.is_any or rt.is_any)
        if node.op not in ("=", "!=") and lt.kind != rt.kind and not T.same_kind(lt, rt):  # equal kinds: same_kind
            nullable = True
        return T.BOOLEAN.as_nullable(nullable)

    def logic(self, node, scope, word: str):
        nullable = False
        for item in node.items:
            t = self.visit(item, scope)
            if not (t.kind in (T.BOOLEAN_K, T.ANY_K, T.NULL_K)):
                self.type_error(item.span, f"'{word}' needs boolean operands, but '{self.text(item)}' is {T.describe(t)}")
                nullable = True
            nullable = nullable or t.nullable
        return T.BOOLEAN.as_nullable(nullable)

    def v_And(self, node, scope): return self.logic(node, scope, "and")
    def v_Or(self, node, scope): return self.logic(node, scope, "or")

    def v_Between(self, node: n.Between, scope):
        vt = self.visit(node.value, scope)
        lo = self.visit(node.low, scope)
        hi = self.visit(node.high, scope)
        self.comparable(node.span, "<=", vt, lo, node.value, node.low)
        self.comparable(node.span, "<=", vt, hi, node.value, node.high)
        return T.BOOLEAN.as_nullable(vt.nullable or lo.nullable or hi.nullable or vt.is_any)

    def v_In(self, node: n.In, scope):
        vt = self.visit(node.value, scope)
        nullable = self.test(node.value, vt, node.test, scope)
        return T.BOOLEAN.as_nullable(nullable or vt.nullable or vt.is_any)

    def test(self, value: n.Node, vt: Type, test: n.Node, scope) -> bool:
        """Check one unary test against the tested value's type; True if the outcome may be null."""
        if isinstance(test, n.Tests):
            return any([self.test(value, vt, t, scope) for t in test.items])
        if isinstance(test, n.UnaryTest):
            ot = self.visit(test.operand, scope)
            self.types[id(test)] = T.BOOLEAN
            self.comparable(test.span, test.op, vt, ot, value, test.operand)
            return ot.nullable or ot.is_any
        tt = self.visit(test, scope)
        if tt.kind == T.RANGE_K:
            self.comparable(test.span, "<=", vt, tt.elem or T.ANY, value, test)
            return True
        if tt.kind == T.LIST_K and vt.kind != T.LIST_K:
            elem = tt.elem or T.ANY
            if isinstance(test, n.ListLit):
                for item in test.items:
                    it = self.types[id(item)]
                    if it.kind != T.RANGE_K:
                        self.comparable(item.span, "=", vt, it, value, item)
            elif elem.kind != T.RANGE_K:
                self.comparable(test.span, "=", vt, elem, value, test)
            return False
        self.comparable(test.span, "=", vt, tt, value, test)
        return tt.is_any

    def v_UnaryTest(self, node: n.UnaryTest, scope):
        self.error(node.span, "E-SYNTAX", f"a unary test such as '{self.text(node)}' is only allowed after 'in'")
        self.visit(node.operand, scope)
        return T.ANY

    def v_Tests(self, node: n.Tests, scope):
        if len(node.items) == 1 and isinstance(node.items[0], n.UnaryTest) and node.items[0].op != "!=":
            # `(< 10)` outside `in` is a range value (FEEL 1.5: `(< 10).end` is 10)
            test = node.items[0]
            ot = self.visit(test.operand, scope)
            self.types[id(test)] = T.range_of(ot)
            if not (ot.is_any or ot.kind in _ORDERED or ot.kind == T.NULL_K):
                self.type_error(test.span, f"'{test.op}' needs an ordered value, but this is {T.describe(ot)}")
            return T.range_of(ot)
        self.error(node.span, "E-SYNTAX", "a list of tests in parentheses is only allowed after 'in' "
                                          "(use [...] for a list)")
        for item in node.items:
            self.visit(item, scope)
        return T.ANY

    # -- constructors -----------------------------------------------------------------------
    def v_ListLit(self, node: n.ListLit, scope):
        elem = None
        for item in node.items:
            t = self.visit(item, scope)
            elem = t if elem is None else T.join(elem, t)
        return T.list_of(elem or T.ANY)

    def v_ContextLit(self, node: n.ContextLit, scope):
        fields = []
        frame: dict[str, Ref] = {}
        seen = set()
        local = self.fresh("_c")
        for key, value in node.entries:
            if key in seen:
                self.error(value.span, "E-DUPLICATE-KEY", f"duplicate context entry '{key}'")
            seen.add(key)
            t = self.visit(value, scope + [frame])
            fields.append((key, t))
            # later entries may refer to earlier ones ({a: 1, b: a + 1})
            frame[key] = Ref("item_field", local, t, key=key)
        self.refs[id(node)] = Ref("local", local, T.ANY)
        return T.object_of(fields)

    def v_RangeLit(self, node: n.RangeLit, scope):
        a = self.visit(node.start, scope)
        b = self.visit(node.end, scope)
        self.comparable(node.span, "<=", a, b, node.start, node.end)
        return T.range_of(T.join(a, b) if not a.kind == T.NULL_K else b)

    def v_If(self, node: n.If, scope):
        c = self.visit(node.cond, scope)
        if c.kind not in (T.BOOLEAN_K, T.ANY_K, T.NULL_K):
            self.type_error(node.cond.span, f"the condition of 'if' must be boolean, but this is {T.describe(c)}")
        return T.join(self.visit(node.then, scope), self.visit(node.else_, scope))

    def iterations(self, iters, scope) -> list[dict[str, Ref]]:
        frames = []
        for it in iters:
            st = self.visit(it.source, scope + frames)
            if st.kind == T.LIST_K:
                elem = st.elem or T.ANY
            elif st.kind == T.RANGE_K:
                elem = st.elem or T.ANY
            elif st.is_any or st.kind == T.NULL_K:
                elem = T.ANY
            else:
                self.type_error(it.source.span, f"'{it.var} in ...' needs a list, but this is {T.describe(st)}")
                elem = T.ANY
            ref = Ref("local", self.fresh(f"L_{it.var}_"), elem)
            self.refs[id(it)] = ref
            self.types[id(it)] = st
            frames.append({it.var: ref})
        return frames

    def v_For(self, node: n.For, scope):
        frames = self.iterations(node.iterations, scope)
        body = self.visit(node.body, scope + frames)
        return T.list_of(body)

    def v_Quantified(self, node: n.Quantified, scope):
        frames = self.iterations(node.iterations, scope)
        c = self.visit(node.cond, scope + frames)
        if c.kind not in (T.BOOLEAN_K, T.ANY_K, T.NULL_K):
            self.type_error(node.cond.span, f"'satisfies' needs a boolean condition, but this is {T.describe(c)}")
        return T.BOOLEAN.as_nullable(True)


_VISIT = n.methods_by_class(_Checker, "v_")
