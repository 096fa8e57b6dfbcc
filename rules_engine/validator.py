"""Context validation compiled to Python: one straight-line function per object type of a schema.

A context is checked and converted (JSON numbers to Decimal, ISO strings to dates...) before any
rule runs. The generated code does no path bookkeeping on the happy path: a failure raises `_Bad`
with the field name, and each enclosing level adds its own part of the path on the way out.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from . import typesys as T
from .typesys import Type

_INF = (float("inf"), float("-inf"))


class _Bad(Exception):
    def __init__(self, part: str, expected: str, value):
        self.parts = [part] if part else []
        self.expected = expected
        self.value = value


def _num_float(v: float, part: str, expected: str) -> Decimal:
    if v != v or v in _INF:
        raise _Bad(part, "a finite number", v)
    return Decimal(repr(v))


def _num_other(v, part: str, expected: str) -> Decimal:
    """Numbers that are not int/float: Decimal passes, a decimal string such as "19.99" converts."""
    if v.__class__ is Decimal or (isinstance(v, Decimal)):
        if v.is_finite():
            return v
    elif isinstance(v, int) and not isinstance(v, bool):
        return Decimal(v)
    elif isinstance(v, float):
        return _num_float(v, part, expected)
    elif isinstance(v, str):
        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise _Bad(part, expected, v) from None
        if d.is_finite():
            return d
    raise _Bad(part, expected, v)


class _Gen:
    def __init__(self):
        self.chunks: list[str] = []
        self.consts: dict[str, object] = {}
        self.n = 0

    def const(self, value) -> str:
        name = f"C{len(self.consts)}"
        self.consts[name] = value
        return name

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def check(self, t: Type, var: str, part: str, indent: str) -> list[str]:
        """Statements that check `var` against `t` and rebind it to its run-time value."""
        p = repr(part)
        exp = self.const(T.describe(t))
        lines: list[str] = []
        inner = indent + "    " if t.nullable else indent
        k = t.kind
        if k == T.ANY_K:
            body = [f"{inner}{var} = _to_feel({var})"]
        elif k == T.STRING_K and t.values is not None:
            body = [f"{inner}if {var}.__class__ is not str or {var} not in {self.const(frozenset(t.values))}:",
                    f"{inner}    raise _Bad({p}, {exp}, {var})"]
        elif k == T.STRING_K:
            body = [f"{inner}if {var}.__class__ is not str:", f"{inner}    raise _Bad({p}, {exp}, {var})"]
        elif k == T.NUMBER_K:
            body = [f"{inner}c = {var}.__class__",
                    f"{inner}if c is int:", f"{inner}    {var} = _Decimal({var})",
                    f"{inner}elif c is float:", f"{inner}    {var} = _num_float({var}, {p}, {exp})",
                    f"{inner}elif c is not _Decimal:", f"{inner}    {var} = _num_other({var}, {p}, {exp})"]
        elif k == T.BOOLEAN_K:
            body = [f"{inner}if {var} is not True and {var} is not False:", f"{inner}    raise _Bad({p}, {exp}, {var})"]
        elif k == T.LIST_K:
            elem = t.elem or T.ANY
            body = [f"{inner}if {var}.__class__ is not list:",
                    f"{inner}    if not isinstance({var}, (list, tuple)):", f"{inner}        raise _Bad({p}, {exp}, {var})",
                    f"{inner}    {var} = list({var})"]
            if elem.kind == T.STRING_K and elem.values is None and not elem.nullable:
                # nothing to convert: check the elements, keep the list
                body += [f"{inner}for e in {var}:", f"{inner}    if e.__class__ is not str:",
                         f"{inner}        _at_index({var}, {p}, {self.const(T.describe(elem))}, _is_str)"]
            else:
                fn = self.function(elem)
                body += [f"{inner}try:", f"{inner}    {var} = [{fn}(e) for e in {var}]",
                         f"{inner}except _Bad as b:", f"{inner}    _locate(b, {var}, {fn}, {p})"]
        elif k == T.OBJECT_K:
            if t.fields is None:
                body = [f"{inner}if not isinstance({var}, dict):", f"{inner}    raise _Bad({p}, {exp}, {var})",
                        f"{inner}{var} = _to_feel({var})"]
            else:
                fn = self.function(t.as_nullable(False))
                body = [f"{inner}try:", f"{inner}    {var} = {fn}({var})",
                        f"{inner}except _Bad as b:", f"{inner}    b.parts.append({p})" if part else f"{inner}    pass",
                        f"{inner}    raise"]
        else:  # temporal values and durations: parsed by the schema's converters
            conv = self.const(_temporal_converter(t.as_nullable(False)))
            body = [f"{inner}{var} = {conv}({var}, {p})"]
        if t.nullable:
            lines.append(f"{indent}if {var} is not None:")
            lines += body
        else:
            lines.append(f"{indent}if {var} is None:")
            lines.append(f"{indent}    raise _Bad({p}, {exp}, None)")
            lines += body
        return lines

    def function(self, t: Type) -> str:
        """A function validating one value of type `t` (objects and list elements)."""
        name = self.fresh("V")
        lines = [f"def {name}(x):"]
        if t.kind == T.OBJECT_K and t.fields is not None:
            lines += ["    if x.__class__ is not dict:", "        if not isinstance(x, dict):",
                      f"            raise _Bad('', 'an object', x)", "    get = x.get"]
            names = []
            for i, (fname, ft) in enumerate(t.fields):
                var = f"f{i}"
                lines.append(f"    {var} = get({fname!r})")
                lines += self.check(ft, var, fname, "    ")
                names.append(f"{fname!r}: {var}")
            lines.append("    return {" + ", ".join(names) + "}")
        else:
            lines += self.check(t, "x", "", "    ")
            lines.append("    return x")
        self.chunks.append("\n".join(lines) + "\n")
        return name


def _is_str(e) -> bool:
    return e.__class__ is str


def _at_index(lst, part, expected, ok):
    for i, e in enumerate(lst):
        if not ok(e):
            b = _Bad(f"[{i}]", expected, e)
            if part:
                b.parts.append(part)
            raise b


def _locate(b: _Bad, lst, fn, part):
    """Re-run the elements one by one to find which index failed (error path only)."""
    for i, e in enumerate(lst):
        try:
            fn(e)
        except _Bad as inner:
            inner.parts.append(f"[{i}]")
            if part:
                inner.parts.append(part)
            raise inner from None
    raise b


def _temporal_converter(t: Type):
    from .schema import _temporal
    return _temporal(t, T.describe(t))


def _path(parts: list[str]) -> str:
    out = ""
    for p in reversed(parts):
        out += p if p.startswith("[") or not out else "." + p
    return out


def compile_validator(t: Type):
    """A function (value, path="") -> run-time value, raising ContextError for a bad value."""
    from .schema import ContextError, _kind, to_feel
    g = _Gen()
    top = g.function(t)
    ns = {"_Bad": _Bad, "_Decimal": Decimal, "_num_float": _num_float, "_num_other": _num_other,
          "_to_feel": to_feel, "_at_index": _at_index, "_locate": _locate, "_is_str": _is_str,
          "isinstance": isinstance, "list": list, "tuple": tuple, "dict": dict, "frozenset": frozenset}
    ns.update(g.consts)
    exec(compile("\n".join(g.chunks), "<context validator>", "exec"), ns)
    fn = ns[top]

    def validate(value, path: str = ""):
        try:
            return fn(value)
        except _Bad as b:
            where = _path(b.parts)
            if path:
                where = f"{path}.{where}" if where else path
            if not where and t.kind == T.OBJECT_K:
                raise ContextError("", "a JSON object (the context)", _kind(b.value)) from None
            raise ContextError(where, b.expected, _kind(b.value)) from None
        except ContextError as e:  # from temporal converters, which know only their own field
            raise e from None
    validate.source = "\n".join(g.chunks)
    return validate
