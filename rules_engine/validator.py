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


# float -> the Decimal of its shortest repr, for the non-integral floats met so far: contexts
# repeat prices and amounts, and a lookup costs a fraction of repr() and Decimal(). Bounded.
_floats: "dict[float, Decimal]" = {}
FLOAT_MEMO_SIZE = 4096


def _exact(v: float) -> Decimal:
    d = Decimal(repr(v))
    if len(_floats) < FLOAT_MEMO_SIZE:
        _floats[v] = d
    return d


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
    def __init__(self, prefix: str = "", fast: bool = False, raw_numbers=frozenset(), rebuild: bool = True):
        self.prefix = prefix   # keeps names apart when the code joins a ruleset's generated module
        self.fast = fast
        self.raw_numbers = raw_numbers  # paths whose numbers are checked but not converted
        self.rebuild = rebuild          # rebind objects to dicts of converted values
        self.chunks: list[str] = []
        self.consts: dict[str, object] = {}
        self.paths: dict[tuple[str, ...], str] = {}   # input path -> the local holding its checked value
        self.n = 0

    def const(self, value) -> str:
        name = f"{self.prefix}C{len(self.consts)}"
        self.consts[name] = value
        return name

    def fresh(self, prefix: str) -> str:
        self.n += 1
        return f"{self.prefix}{prefix}{self.n}"

    def check(self, t: Type, var: str, part: str, indent: str, certain: bool = False) -> "tuple[list[str], list[str]]":
        """Statements that check `var` against `t` and rebind it to its run-time value, and the
        statements that only convert it when a typed decoder has already checked it (see
        context_json.py: the same locals, without the type tests).

        `certain`: `var` is always assigned (no nullable ancestor), so the locals of its fields can
        stand for their input paths in generated rule code (recorded in `self.paths`)."""
        return self._check(t, var, part, indent, certain)

    def _check(self, t: Type, var: str, part: str, indent: str, certain: bool) -> "tuple[list[str], list[str]]":
        p = repr(part)
        exp = self.const(T.describe(t.as_nullable(False)))
        lines: list[str] = []
        inner = indent + "    " if t.nullable else indent
        k = t.kind
        tbody: list[str] = []  # the checked variant: what is left once the decoder vouched for the type
        if k == T.ANY_K:
            body = [f"{inner}{var} = _to_feel({var})"]
            tbody = body
        elif k == T.STRING_K and t.values is not None:
            body = [f"{inner}if {var}.__class__ is not str or {var} not in {self.const(frozenset(t.values))}:",
                    f"{inner}    raise _Bad({p}, {exp}, {var})"]
        elif k == T.STRING_K:
            body = [f"{inner}if {var}.__class__ is not str:", f"{inner}    raise _Bad({p}, {exp}, {var})"]
        elif k == T.NUMBER_K and tuple(part.split(".")) in self.raw_numbers:
            body = [f"{inner}c = {var}.__class__",
                    f"{inner}if c is float:",
                    f"{inner}    if {var} - {var} != 0:  # not finite",
                    f"{inner}        raise _Bad({p}, 'a finite number', {var})",
                    f"{inner}elif c is not int and c is not _Decimal:", f"{inner}    {var} = _num_other({var}, {p}, {exp})"]
        elif k == T.NUMBER_K:
            # JSON integers stay int (exact, and every operation accepts them); a float becomes the
            # Decimal of its shortest repr, so 0.1 is 0.1 and not the binary value above it
            body = [f"{inner}c = {var}.__class__",
                    f"{inner}if c is float:",
                    f"{inner}    if {var}.is_integer() and -1e15 < {var} < 1e15:  # 1200.0: exactly the int",
                    f"{inner}        {var} = int({var})",
                    f"{inner}    elif {var} - {var} == 0:  # finite",
                    f"{inner}        {var} = _floats.get({var}) or _exact({var})",
                    f"{inner}    else:",
                    f"{inner}        raise _Bad({p}, 'a finite number', {var})",
                    f"{inner}elif c is not int and c is not _Decimal:", f"{inner}    {var} = _num_other({var}, {p}, {exp})"]
            # decoded as int or finite float (the decoder refuses anything else)
            tbody = [f"{inner}if {var}.__class__ is float:",
                     f"{inner}    if {var}.is_integer() and -1e15 < {var} < 1e15:",
                     f"{inner}        {var} = int({var})",
                     f"{inner}    else:",
                     f"{inner}        {var} = _floats.get({var}) or _exact({var})"]
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
                fn, tfn = self.function(elem)
                body += [f"{inner}try:", f"{inner}    {var} = [{fn}(e) for e in {var}]",
                         f"{inner}except _Bad as b:", f"{inner}    _locate(b, {var}, {fn}, {p})"]
                if tfn is not None:
                    tbody = [f"{inner}try:", f"{inner}    {var} = [{tfn}(e) for e in {var}]",
                             f"{inner}except _Bad as b:", f"{inner}    _locate(b, {var}, {tfn}, {p})"]
        elif k == T.OBJECT_K:
            if t.fields is None:
                body = [f"{inner}if not isinstance({var}, dict):", f"{inner}    raise _Bad({p}, {exp}, {var})",
                        f"{inner}{var} = _to_feel({var})"]
                tbody = body[2:]
            else:
                # nested objects are checked inline: no call, and the error names the dotted path.
                # The fast variant subscripts required fields and skips the mapping check: a missing
                # key or a non-mapping raises KeyError/TypeError, and the caller re-runs the careful
                # variant to say exactly what is wrong.
                body = [] if self.fast else [f"{inner}if {var}.__class__ is not dict and not isinstance({var}, dict):",
                                             f"{inner}    raise _Bad({p}, 'an object', {var})"]
                names = []
                for i, (fname, ft) in enumerate(t.fields):
                    fv = self.fresh("f")
                    path = f"{part}.{fname}" if part else fname
                    access = f"{var}[{fname!r}]" if self.fast and not ft.nullable else f"{var}.get({fname!r})"
                    # decoded: a struct whose field i is attribute f{i} (None when left out)
                    taccess = f"{var}.f{i}"
                    body.append(f"{inner}{fv} = {access}")
                    tbody.append(f"{inner}{fv} = {taccess}")
                    kid_certain = certain and not t.nullable
                    kid, tkid = self._check(ft, fv, path, inner, kid_certain)
                    body += kid
                    tbody += tkid
                    if kid_certain:
                        self.paths[tuple(path.split("."))] = fv
                    names.append(f"{fname!r}: {fv}")
                if self.rebuild:
                    body.append(f"{inner}{var} = {{" + ", ".join(names) + "}")
                    tbody.append(f"{inner}{var} = {{" + ", ".join(names) + "}")
        else:  # temporal values and durations: parsed by the schema's converters
            fn = _temporal_converter(t.as_nullable(False))
            conv = self.const(fn)
            body = [f"{inner}{var} = {conv}({var}, {p})"]
            # a decoded value is a string: its memo entry is looked up in place (no call on a hit)
            tbody = [f"{inner}{var} = {self.const(fn.memo)}.get({var}) or {conv}({var}, {p})"]
        if t.nullable:
            lines.append(f"{indent}if {var} is not None:")
            lines += body
        elif self.fast and (k in (T.STRING_K, T.NUMBER_K, T.BOOLEAN_K, T.LIST_K) or k == T.OBJECT_K and t.fields):
            # The checks above reject None with the same message, and an object's first field
            # access raises on None (the caller then validates again, carefully): no test of its own.
            lines += body
        else:
            lines.append(f"{indent}if {var} is None:")
            lines.append(f"{indent}    raise _Bad({p}, {exp}, None)")
            lines += body
        if t.nullable:
            tlines = [f"{indent}if {var} is not None:"] + tbody if tbody else []
        elif k == T.ANY_K:  # the decoder's `Any` lets null through
            tlines = [f"{indent}if {var} is None:", f"{indent}    raise _Bad({p}, {exp}, None)"] + tbody
        else:
            tlines = tbody
        return lines, tlines

    def function(self, t: Type) -> "tuple[str, str | None]":
        """Functions validating one value of type `t` (objects and list elements): the checking one,
        and the converting one for decoder-checked values (None when that would return its
        argument unchanged)."""
        name, tname = self.fresh("V"), self.fresh("T")
        saved = self.raw_numbers, self.rebuild
        self.raw_numbers, self.rebuild = frozenset(), True  # list elements are values in full
        try:
            lines, tlines = self.check(t, "x", "", "    ")
        finally:
            self.raw_numbers, self.rebuild = saved
        self.chunks.append(f"def {name}(x):\n" + "\n".join(lines) + "\n    return x\n")
        if not tlines:
            return name, None
        self.chunks.append(f"def {tname}(x):\n" + "\n".join(tlines) + "\n    return x\n")
        return name, tname


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


RUNTIME = {"_Bad": _Bad, "_Decimal": Decimal, "_repr": repr, "_floats": _floats, "_exact": _exact, "_num_other": _num_other,
           "_at_index": _at_index, "_locate": _locate, "_is_str": _is_str}


def inline_validator(t: Type, var: str, prefix: str, raw_numbers=frozenset(),
                     rebuild: bool = True) -> "tuple[_Gen, list[str], list[str]]":
    """Statements validating `var` in place (for a generated function), the statements that only
    convert it when a typed decoder has checked it already (the same locals), and the generator
    holding the element functions, constants and the path -> local map they need. These statements may
    raise KeyError or TypeError instead of _Bad for a missing field or a non-mapping: the caller
    then validates again with `compile_validator`'s function for the precise message.

    For a caller that reads only field locals: `rebuild=False` leaves `var` as it came (no dicts
    of converted values are built), and the numbers at `raw_numbers` paths are checked (finite,
    a number) but stay as they came: floats are not turned into Decimals."""
    g = _Gen(prefix, fast=True, raw_numbers=raw_numbers, rebuild=rebuild)
    lines, tlines = g.check(t, var, "", "    ", certain=True)
    return g, lines, tlines


def compile_validator(t: Type):
    """A function (value, path="") -> run-time value, raising ContextError for a bad value."""
    from .schema import ContextError, _kind, to_feel
    g = _Gen()
    top, checked = g.function(t)
    ns = dict(RUNTIME, _to_feel=to_feel, isinstance=isinstance, list=list, tuple=tuple, dict=dict)
    ns.update(g.consts)
    exec(compile("\n".join(g.chunks), "<context validator>", "exec"), ns)
    fn = ns[top]

    def error(b: _Bad, path: str = "") -> ContextError:
        where = _path(b.parts)
        if path:
            where = f"{path}.{where}" if where else path
        if not where and t.kind == T.OBJECT_K:
            return ContextError("", "a JSON object (the context)", _kind(b.value))
        return ContextError(where, b.expected, _kind(b.value))

    def validate(value, path: str = ""):
        try:
            return fn(value)
        except _Bad as b:
            raise error(b, path) from None
    validate.source = "\n".join(g.chunks)
    validate.raw = fn          # raises _Bad: for callers that catch it themselves (the decide hot path)
    # the conversions alone, for a value the typed decoder has checked (context_json.py); raises _Bad
    validate.checked = ns[checked] if checked else (lambda x: x)
    validate.error = error
    return validate
