"""The FEEL built-in function table.

`BUILTINS` maps each FEEL function name, spaces included (`"string length"`, `"date and time"`),
to a `Builtin`: the Python implementation plus what the type checker needs (parameter types, arity,
result type). Implementations take positional arguments only, follow FEEL for nulls (a null
argument gives null without an error) and raise `FeelError` for bad arguments.

FEEL's implicit conversion of a single value to a one-item list applies to list parameters:
`count(5)` is 1, `all(true)` is true. Functions written `min(list)` also accept the items as
separate arguments: `min(1, 2, 3)`.

Regular expressions (`matches`, `replace`, `split`) use XML Schema / XPath syntax, translated to
RE2 so matching always runs in linear time. What RE2 cannot do in linear time is rejected with a
FeelError: back-references (`(a)\\1`).
"""
from __future__ import annotations

import decimal
import functools
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Callable

import re2

from . import runtime as rt
from . import typesys as T
from .runtime import CTX, FeelError, YearsMonths, type_name
from .typesys import (ANY, ANY_LIST, BOOLEAN, DATE, DATETIME, DT_DURATION, DURATION, LIST_K, NUMBER,
                      STRING, TIME, YM_DURATION, Type, enum_of, join, list_of)

__all__ = ["Builtin", "BUILTINS"]


@dataclass(frozen=True)
class Builtin:
    """One built-in function.

    `params` are the declared parameters (FEEL names and static types; `ANY` where FEEL is
    polymorphic). When `max_args` is None the function is variadic and its last parameter repeats.
    `result` is the static result type, or a function of the argument types. `needs_clock`: the
    decision clock (an aware datetime) is passed as an extra first argument.
    """
    name: str
    fn: Callable
    params: tuple[tuple[str, Type], ...]
    min_args: int
    max_args: int | None
    result: Type | Callable[[list[Type]], Type]
    needs_clock: bool = False


BUILTINS: "dict[str, Builtin]" = {}

_NA = object()  # an optional argument that was not given (distinct from an explicit null)


def _arity_text(lo: int, hi: "int | None") -> str:
    if hi == lo:
        return f"{lo} argument{'s' if lo != 1 else ''}"
    return f"at least {lo} arguments" if hi is None else f"{lo} to {hi} arguments"


def builtin(name: str, params, result, min_args: "int | None" = None, max_args=_NA, needs_clock: bool = False):
    """Register the decorated function as the FEEL built-in `name`."""
    params = tuple(params)
    lo = len(params) if min_args is None else min_args
    hi = len(params) if max_args is _NA else max_args

    def register(fn):
        @functools.wraps(fn)
        def checked(*args):
            n = len(args) - (1 if needs_clock else 0)
            if n < lo or (hi is not None and n > hi):
                raise FeelError(f"{name}() takes {_arity_text(lo, hi)}; got {n}")
            return fn(*args)

        BUILTINS[name] = Builtin(name, checked, params, lo, hi, result, needs_clock)
        return fn

    return register


# -- argument helpers ------------------------------------------------------------------------------
def _show(v) -> str:
    text = rt.format_value(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(fname: str, pname: str, expected: str, v) -> FeelError:
    got = "null" if v is None else f"{type_name(v)} {_show(v)}"
    return FeelError(f"{fname}(): '{pname}' expects {expected}; got {got}")


def _string(fname: str, pname: str, v) -> str:
    if not isinstance(v, str):
        raise _bad(fname, pname, "a string", v)
    return v


def _number(fname: str, pname: str, v) -> Decimal:
    if not rt._is_num(v):
        raise _bad(fname, pname, "a number", v)
    return rt._num(v)


def _integer(fname: str, pname: str, v) -> int:
    """A count or position: a number, truncated toward zero (as the TCK does for 2.5)."""
    return int(_number(fname, pname, v))


def _as_list(v) -> list:
    return v if isinstance(v, list) else [v]


def _list_or_items(args) -> "list | None":
    """`f(list)` or `f(item, item, ...)`; None for `f(null)`."""
    if len(args) == 1:
        return None if args[0] is None else _as_list(args[0])
    return list(args)


def _numbers(fname: str, items: list) -> "list[Decimal]":
    out = []
    for x in items:
        if not rt._is_num(x):
            raise FeelError(f"{fname}() expects numbers; got {'null' if x is None else type_name(x)} "
                            f"{'' if x is None else _show(x)}".rstrip())
        out.append(rt._num(x))
    return out


def _decimal_sum(nums: "list[Decimal]") -> Decimal:
    total = Decimal(0)
    for x in nums:
        total = rt._dec(CTX.add, total, x)
    return total


def _position_in(fname: str, items: list, position, allow_end: bool = False) -> int:
    """0-based index of a FEEL 1-based (or negative, from the end) position."""
    p = _integer(fname, "position", position)
    n = len(items)
    if 1 <= p <= n or (allow_end and p == n + 1):
        return p - 1
    if -n <= p <= -1:
        return n + p
    raise FeelError(f"{fname}(): position {p} is outside the list of {n} item{'s' if n != 1 else ''}")


# -- static result types ---------------------------------------------------------------------------
def _elem(t: Type) -> Type:
    return (t.elem or ANY) if t.kind == LIST_K else t


def _items_type(args: "list[Type]") -> Type:
    if not args:
        return ANY
    if len(args) == 1:
        return _elem(args[0])
    out = args[0]
    for t in args[1:]:
        out = join(out, t)
    return out


def _list_type(t: Type) -> Type:
    return list_of(_elem(t))


def _nullable(t: Type) -> Type:
    return t.as_nullable(True)


def _same_list(args):
    return _list_type(args[0]) if args else ANY_LIST


def _same_list_or_null(args):
    return _nullable(_same_list(args))


def _joined_lists(args):
    out = None
    for t in args:
        e = _elem(t)
        out = e if out is None else join(out, e)
    return list_of(out or ANY)


def _min_max_result(args):
    return _nullable(_items_type(args))


def _sum_result(args):
    t = _items_type(args)
    return _nullable(t if t.kind == NUMBER.kind or t.is_duration or t.is_any else NUMBER)


def _abs_result(args):
    t = args[0] if args else ANY
    return t if t.kind == NUMBER.kind or t.is_duration else ANY


def _append_result(args):
    out = _elem(args[0]) if args else ANY
    for t in args[1:]:
        out = join(out, t)
    return list_of(out)


def _insert_result(args):
    if len(args) < 3:
        return _nullable(ANY_LIST)
    return _nullable(list_of(join(_elem(args[0]), args[2])))


def _flatten_result(args):
    e = _elem(args[0]) if args else ANY
    return list_of(ANY if e.kind in (LIST_K, ANY.kind) else e)


# -- boolean ---------------------------------------------------------------------------------------
def _not_result(args):
    """`not` passes null through: its result may be null exactly when its operand may."""
    t = args[0] if args else ANY
    return BOOLEAN.as_nullable(t.nullable or t.is_any)


@builtin("not", [("negand", BOOLEAN)], _not_result)
def _not(x):
    if x is None:
        return None
    if not isinstance(x, bool):
        raise _bad("not", "negand", "a boolean", x)
    return not x


# -- strings ---------------------------------------------------------------------------------------
@builtin("substring", [("string", STRING), ("start position", NUMBER), ("length", NUMBER)], _nullable(STRING),
         min_args=2)
def _substring(s, start, length=_NA):
    if s is None or start is None or length is None:
        return None
    s = _string("substring", "string", s)
    p = _integer("substring", "start position", start)
    n = len(s)  # code points: Python str indexes by code point
    if not (1 <= p <= n + 1 or -n <= p <= -1):  # n + 1 is the (empty) end of the string
        raise FeelError(f"substring(): start position {p} is outside the string of length {n}")
    begin = p - 1 if p > 0 else n + p
    if length is _NA:
        return s[begin:]
    k = _integer("substring", "length", length)
    if k < 0:
        raise FeelError(f"substring(): length must not be negative; got {k}")
    return s[begin:begin + k]


@builtin("string length", [("string", STRING)], NUMBER)
def _string_length(s):
    return None if s is None else Decimal(len(_string("string length", "string", s)))


@builtin("upper case", [("string", STRING)], STRING)
def _upper_case(s):
    return None if s is None else _string("upper case", "string", s).upper()


@builtin("lower case", [("string", STRING)], STRING)
def _lower_case(s):
    return None if s is None else _string("lower case", "string", s).lower()


@builtin("substring before", [("string", STRING), ("match", STRING)], STRING)
def _substring_before(s, match):
    if s is None or match is None:
        return None
    s, match = _string("substring before", "string", s), _string("substring before", "match", match)
    i = s.find(match)
    return "" if i < 0 else s[:i]


@builtin("substring after", [("string", STRING), ("match", STRING)], STRING)
def _substring_after(s, match):
    if s is None or match is None:
        return None
    s, match = _string("substring after", "string", s), _string("substring after", "match", match)
    i = s.find(match)
    return "" if i < 0 else s[i + len(match):]


@builtin("contains", [("string", STRING), ("match", STRING)], BOOLEAN)
def _contains(s, match):
    if s is None or match is None:
        return None
    return _string("contains", "match", match) in _string("contains", "string", s)


@builtin("starts with", [("string", STRING), ("match", STRING)], BOOLEAN)
def _starts_with(s, match):
    if s is None or match is None:
        return None
    return _string("starts with", "string", s).startswith(_string("starts with", "match", match))


@builtin("ends with", [("string", STRING), ("match", STRING)], BOOLEAN)
def _ends_with(s, match):
    if s is None or match is None:
        return None
    return _string("ends with", "string", s).endswith(_string("ends with", "match", match))


# -- regular expressions: XML Schema / XPath syntax translated to RE2 -----------------------------
_SINGLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_META = "\\|.-^?*+{}()[]$"
_MAX_CP = 0x10FFFF
_CATEGORIES = {"L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
               "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Z", "Zs", "Zl", "Zp",
               "S", "Sm", "Sc", "Sk", "So", "C", "Cc", "Cf", "Co"}
# Unicode blocks for \p{IsBlock} (RE2 knows scripts, not blocks); the commonly used ones.
_BLOCKS = {
    "basiclatin": (0x0000, 0x007F), "latin1supplement": (0x0080, 0x00FF),
    "latinextendeda": (0x0100, 0x017F), "latinextendedb": (0x0180, 0x024F),
    "ipaextensions": (0x0250, 0x02AF), "spacingmodifierletters": (0x02B0, 0x02FF),
    "combiningdiacriticalmarks": (0x0300, 0x036F), "greek": (0x0370, 0x03FF),
    "greekandcoptic": (0x0370, 0x03FF), "cyrillic": (0x0400, 0x04FF), "armenian": (0x0530, 0x058F),
    "hebrew": (0x0590, 0x05FF), "arabic": (0x0600, 0x06FF), "devanagari": (0x0900, 0x097F),
    "thai": (0x0E00, 0x0E7F), "hanguljamo": (0x1100, 0x11FF),
    "latinextendedadditional": (0x1E00, 0x1EFF), "greekextended": (0x1F00, 0x1FFF),
    "generalpunctuation": (0x2000, 0x206F), "superscriptsandsubscripts": (0x2070, 0x209F),
    "currencysymbols": (0x20A0, 0x20CF), "letterlikesymbols": (0x2100, 0x214F),
    "numberforms": (0x2150, 0x218F), "arrows": (0x2190, 0x21FF),
    "mathematicaloperators": (0x2200, 0x22FF), "boxdrawing": (0x2500, 0x257F),
    "geometricshapes": (0x25A0, 0x25FF), "miscellaneoussymbols": (0x2600, 0x26FF),
    "dingbats": (0x2700, 0x27BF), "cjksymbolsandpunctuation": (0x3000, 0x303F),
    "hiragana": (0x3040, 0x309F), "katakana": (0x30A0, 0x30FF),
    "cjkunifiedideographs": (0x4E00, 0x9FFF), "hangulsyllables": (0xAC00, 0xD7AF),
    "privateuse": (0xE000, 0xF8FF), "alphabeticpresentationforms": (0xFB00, 0xFB4F),
    "halfwidthandfullwidthforms": (0xFF00, 0xFFEF), "specials": (0xFFF0, 0xFFFF),
}
_NAME_START = r"\p{L}_:"
_NAME_CHAR = r"\p{L}\p{Nd}\p{Mn}\p{Mc}._:\-\x{B7}"
# Multi-character escapes: (outside a class, inside a class or None when not expressible there).
_CLASS_ESCAPES = {
    "s": (r"[\t\n\r ]", r"\t\n\r "),
    "S": (r"[^\t\n\r ]", None),  # filled in below from the complement ranges
    "d": (r"\p{Nd}", r"\p{Nd}"),
    "D": (r"\P{Nd}", r"\P{Nd}"),
    # XSD \w is every character except punctuation, separators and "other": categories L, M, N, S.
    "w": (r"[\p{L}\p{M}\p{N}\p{S}]", r"\p{L}\p{M}\p{N}\p{S}"),
    "W": (r"[\p{P}\p{Z}\p{C}]", r"\p{P}\p{Z}\p{C}"),
    "i": (f"[{_NAME_START}]", _NAME_START),
    "I": (f"[^{_NAME_START}]", None),
    "c": (f"[{_NAME_CHAR}]", _NAME_CHAR),
    "C": (f"[^{_NAME_CHAR}]", None),
}


def _cp(c: int) -> str:
    return f"\\x{{{c:X}}}"


def _ranges_text(ranges) -> str:
    return "".join(_cp(lo) if lo == hi else f"{_cp(lo)}-{_cp(hi)}" for lo, hi in ranges)


def _normalise(ranges) -> "list[tuple[int, int]]":
    out: list = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _complement(ranges) -> "list[tuple[int, int]]":
    out, nxt = [], 0
    for lo, hi in _normalise(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= _MAX_CP:
        out.append((nxt, _MAX_CP))
    return out


def _subtract(a, b) -> "list[tuple[int, int]]":
    # a minus b == a intersected with the complement of b
    out = []
    for lo, hi in _normalise(a):
        for clo, chi in _complement(b):
            s, e = max(lo, clo), min(hi, chi)
            if s <= e:
                out.append((s, e))
    return out


_CLASS_ESCAPES["S"] = (_CLASS_ESCAPES["S"][0], _ranges_text(_complement([(9, 10), (13, 13), (32, 32)])))


@dataclass
class _CharClass:
    negated: bool
    ranges: list
    fragments: list          # RE2 class items with no code point ranges known (\p{..}, \d ...)
    minus: "_CharClass | None"

    def code_points(self) -> list:
        """The class as code point ranges (only possible without \\p-style fragments)."""
        if self.fragments:
            raise FeelError("character class subtraction is supported only for literal characters and ranges")
        base = _complement(self.ranges) if self.negated else self.ranges
        return _subtract(base, self.minus.code_points()) if self.minus else _normalise(base)

    def to_re2(self) -> str:
        if self.minus is not None:
            cps = self.code_points()
            return f"[{_ranges_text(cps)}]" if cps else r"[^\x{0}-\x{10FFFF}]"
        return "[" + ("^" if self.negated else "") + _ranges_text(self.ranges) + "".join(self.fragments) + "]"


class _Translator:
    """XML Schema regular expression (with XPath's anchors, lazy quantifiers and `(?:`) -> RE2."""

    def __init__(self, pattern: str, dotall: bool):
        self.p, self.i, self.dotall = pattern, 0, dotall

    def error(self, why: str) -> FeelError:
        return FeelError(f"invalid regular expression {self.p!r}: {why}")

    def translate(self) -> str:
        out, p = [], self.p
        while self.i < len(p):
            c = p[self.i]
            if c == "\\":
                kind, value = self.escape()
                out.append(_cp(value) if kind == "char" else value[0])
            elif c == "[":
                cls = self.char_class()
                try:
                    out.append(cls.to_re2())
                except FeelError as e:
                    raise self.error(str(e)) from None
            elif c == ".":
                # XPath: without the s flag, '.' matches neither \n nor \r (RE2's '.' excludes only \n)
                out.append(r"(?s:.)" if self.dotall else r"[^\n\r]")
                self.i += 1
            elif c == "(" and p.startswith("(?", self.i):
                if not p.startswith("(?:", self.i):
                    raise self.error("only '(?:' groups are allowed (no look-around or inline flags)")
                out.append("(?:")
                self.i += 3
            else:  # literals and ( ) | * + ? { } ^ $ mean the same in RE2, which checks their syntax
                out.append(c)
                self.i += 1
        return "".join(out)

    def escape(self):
        """At a backslash: ("char", code point) or ("class", (outside text, inside text or None))."""
        p = self.p
        if self.i + 1 >= len(p):
            raise self.error("it ends with a backslash")
        c = p[self.i + 1]
        self.i += 2
        if c in _SINGLE_ESCAPES:
            return "char", ord(_SINGLE_ESCAPES[c])
        if c in _META:
            return "char", ord(c)
        if c in _CLASS_ESCAPES:
            return "class", _CLASS_ESCAPES[c]
        if c in "pP":
            return "class", self.property_escape(c == "P")
        if c in "123456789":
            raise self.error("back-references (\\1 ...) are not supported: matching must run in linear time")
        raise self.error(f"unknown escape \\{c}")

    def property_escape(self, negated: bool):
        p = self.p
        end = p.find("}", self.i)
        if not p.startswith("{", self.i) or end < 0:
            raise self.error("\\p and \\P need a name in braces, like \\p{Lu}")
        name = p[self.i + 1:end]
        self.i = end + 1
        if name.startswith("Is"):
            key = "".join(ch for ch in name[2:] if ch not in " _-").lower()
            if key not in _BLOCKS:
                raise self.error(f"unknown or unsupported Unicode block {name!r}")
            ranges = [_BLOCKS[key]]
            if negated:
                ranges = _complement(ranges)
            text = _ranges_text(ranges)
            return f"[{text}]", text
        if name not in _CATEGORIES:
            raise self.error(f"unknown Unicode category {name!r}")
        text = f"\\{'P' if negated else 'p'}{{{name}}}"
        return text, text

    def char_class(self) -> _CharClass:
        p = self.p
        self.i += 1  # '['
        negated = p.startswith("^", self.i)
        if negated:
            self.i += 1
        cls = _CharClass(negated, [], [], None)
        while True:
            if self.i >= len(p):
                raise self.error("a character class '[' is not closed")
            c = p[self.i]
            if c == "]":
                if not cls.ranges and not cls.fragments:
                    raise self.error("empty character class")
                self.i += 1
                return cls
            if p.startswith("-[", self.i):  # subtraction: [a-z-[aeiou]]
                self.i += 1
                cls.minus = self.char_class()
                if not p.startswith("]", self.i):
                    raise self.error("a class subtraction must end the character class")
                self.i += 1
                return cls
            if c == "[":
                raise self.error("'[' inside a character class must be escaped")
            kind, value = self.class_atom()
            if kind == "char" and p.startswith("-", self.i) and not p.startswith(("-]", "-["), self.i):
                self.i += 1
                kind2, hi = self.class_atom()
                if kind2 != "char" or hi < value:
                    raise self.error("invalid range in character class")
                cls.ranges.append((value, hi))
            elif kind == "char":
                cls.ranges.append((value, value))
            else:
                if value[1] is None:
                    raise self.error("this escape cannot be used inside a character class")
                cls.fragments.append(value[1])

    def class_atom(self):
        if self.p[self.i] == "\\":
            return self.escape()
        self.i += 1
        return "char", ord(self.p[self.i - 1])


_FLAG_CHARS = frozenset("smix")
_XML_SPACE = " \t\n\r"


def _strip_whitespace(pattern: str) -> str:
    """The x flag: whitespace is removed, except inside character classes (XPath 3.1)."""
    out, depth, i = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(c)
            i += 1
            while depth == 0 and i < len(pattern) and pattern[i] in _XML_SPACE:
                i += 1  # "\ s" is "\s": whitespace goes before the escape is read
            if i < len(pattern):
                out.append(pattern[i])
                i += 1
            continue
        if c == "[":
            depth += 1
        elif c == "]" and depth:
            depth -= 1
        if depth or c not in _XML_SPACE:
            out.append(c)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=512)
def _compile(pattern: str, flags: str):
    bad = set(flags) - _FLAG_CHARS
    if bad:
        raise FeelError(f"invalid regular expression flags {flags!r}: only s, m, i and x are allowed")
    source = _strip_whitespace(pattern) if "x" in flags else pattern
    body = _Translator(source, dotall="s" in flags).translate()
    inline = "".join(f for f in "im" if f in flags)
    try:
        return re2.compile((f"(?{inline})" if inline else "") + body)
    except re2.error as e:
        raise FeelError(f"invalid regular expression {pattern!r}: {e}") from None


def _regex(fname: str, pattern, flags):
    pattern = _string(fname, "pattern", pattern)
    flags = "" if flags is None or flags is _NA else _string(fname, "flags", flags)
    return _compile(pattern, flags)


def _no_empty_match(fname: str, rx, pattern: str) -> None:
    # XPath: a pattern that matches the empty string is an error for replace and tokenize.
    if rx.search("") is not None:
        raise FeelError(f"{fname}(): the pattern {pattern!r} matches the empty string")


def _replacement(template: str, ngroups: int) -> list:
    """XPath replacement text -> pieces: literal strings and group numbers."""
    pieces, buf, i = [], [], 0
    while i < len(template):
        c = template[i]
        if c == "\\":
            if i + 1 < len(template) and template[i + 1] in "\\$":
                buf.append(template[i + 1])
                i += 2
                continue
            raise FeelError("replace(): in the replacement, '\\' must be followed by '\\' or '$'")
        if c == "$":
            j = i + 1
            if j >= len(template) or template[j] not in "0123456789":
                raise FeelError("replace(): in the replacement, '$' must be followed by a group number "
                                "(write \\$ for a dollar sign)")
            j += 1
            # As many digits as still name an existing group ($12 is group 1 then "2" with one group).
            while j < len(template) and template[j] in "0123456789" and int(template[i + 1:j + 1]) <= ngroups:
                j += 1
            if buf:
                pieces.append("".join(buf))
                buf = []
            pieces.append(int(template[i + 1:j]))
            i = j
            continue
        buf.append(c)
        i += 1
    if buf:
        pieces.append("".join(buf))
    return pieces


@builtin("matches", [("input", STRING), ("pattern", STRING), ("flags", STRING)], _nullable(BOOLEAN), min_args=2)
def _matches(s, pattern, flags=_NA):
    if s is None or pattern is None:
        return None
    rx = _regex("matches", pattern, flags)
    return rx.search(_string("matches", "input", s)) is not None


@builtin("replace", [("input", STRING), ("pattern", STRING), ("replacement", STRING), ("flags", STRING)],
         _nullable(STRING), min_args=3)
def _replace(s, pattern, replacement, flags=_NA):
    if s is None or pattern is None or replacement is None:
        return None
    s = _string("replace", "input", s)
    rx = _regex("replace", pattern, flags)
    _no_empty_match("replace", rx, pattern)
    pieces = _replacement(_string("replace", "replacement", replacement), rx.groups)
    out, last = [], 0
    for m in rx.finditer(s):
        out.append(s[last:m.start()])
        for piece in pieces:
            out.append(piece if isinstance(piece, str) else
                       (m.group(piece) or "") if piece <= rx.groups else "")
        last = m.end()
    out.append(s[last:])
    return "".join(out)


@builtin("split", [("string", STRING), ("delimiter", STRING)], _nullable(list_of(STRING)))
def _split(s, delimiter):
    if s is None or delimiter is None:
        return None
    s = _string("split", "string", s)
    rx = _regex("split", delimiter, None)
    _no_empty_match("split", rx, delimiter)
    if not s:
        return []
    out, last = [], 0
    for m in rx.finditer(s):
        out.append(s[last:m.start()])
        last = m.end()
    out.append(s[last:])
    return out


@builtin("string join", [("list", list_of(STRING)), ("delimiter", STRING)], _nullable(STRING), min_args=1)
def _string_join(lst, delimiter=_NA):
    if lst is None:
        return None
    sep = "" if delimiter is None or delimiter is _NA else _string("string join", "delimiter", delimiter)
    items = _as_list(lst)
    for x in items:
        if x is not None and not isinstance(x, str):
            raise FeelError(f"string join() expects a list of strings; got an item of kind {type_name(x)}")
    return sep.join(x for x in items if x is not None)


# -- numbers ---------------------------------------------------------------------------------------
_MIN_SCALE, _MAX_SCALE = -6111, 6176
# Quantizing can add one digit on a carry (9.99 -> 10.0); CTX.plus then rounds back to 34 digits.
_QCTX = decimal.Context(prec=CTX.prec + 2, rounding=decimal.ROUND_HALF_EVEN, Emax=CTX.Emax, Emin=CTX.Emin,
                        traps=[decimal.InvalidOperation, decimal.Overflow])


def _round(fname: str, n, scale, rounding: str) -> "Decimal | None":
    if n is None or scale is None:
        return None
    x = _number(fname, "n", n)
    k = _integer(fname, "scale", scale)
    if not _MIN_SCALE <= k <= _MAX_SCALE:
        raise FeelError(f"{fname}(): scale must be between {_MIN_SCALE} and {_MAX_SCALE}; got {k}")
    exp = -k
    if x.as_tuple().exponent >= exp:
        return x  # already has no more than `scale` decimals
    q = rt._dec(lambda: x.quantize(Decimal((0, (1,), exp)), rounding=rounding, context=_QCTX))
    return rt._dec(CTX.plus, q)


@builtin("decimal", [("n", NUMBER), ("scale", NUMBER)], _nullable(NUMBER))
def _decimal(n, scale):
    return _round("decimal", n, scale, decimal.ROUND_HALF_EVEN)


@builtin("floor", [("n", NUMBER), ("scale", NUMBER)], _nullable(NUMBER), min_args=1)
def _floor(n, scale=0):
    return _round("floor", n, scale, decimal.ROUND_FLOOR)


@builtin("ceiling", [("n", NUMBER), ("scale", NUMBER)], _nullable(NUMBER), min_args=1)
def _ceiling(n, scale=0):
    return _round("ceiling", n, scale, decimal.ROUND_CEILING)


@builtin("round up", [("n", NUMBER), ("scale", NUMBER)], _nullable(NUMBER))
def _round_up(n, scale):
    return _round("round up", n, scale, decimal.ROUND_UP)


@builtin("round down", [("n", NUMBER), ("scale", NUMBER)], _nullable(NUMBER))
def _round_down(n, scale):
    return _round("round down", n, scale, decimal.ROUND_DOWN)


@builtin("round half up", [("n", NUMBER), ("scale", NUMBER)], _nullable(NUMBER))
def _round_half_up(n, scale):
    return _round("round half up", n, scale, decimal.ROUND_HALF_UP)


@builtin("round half down", [("n", NUMBER), ("scale", NUMBER)], _nullable(NUMBER))
def _round_half_down(n, scale):
    return _round("round half down", n, scale, decimal.ROUND_HALF_DOWN)


@builtin("abs", [("n", ANY)], _abs_result)
def _abs(n):
    if n is None:
        return None
    if rt._is_num(n):
        return rt._dec(CTX.abs, rt._num(n))
    if isinstance(n, YearsMonths):
        return YearsMonths(abs(n.months))
    if isinstance(n, timedelta):
        return rt._micros_td(abs(rt._td_micros(n)))
    raise _bad("abs", "n", "a number or a duration", n)


@builtin("modulo", [("dividend", NUMBER), ("divisor", NUMBER)], _nullable(NUMBER))
def _modulo(dividend, divisor):
    if dividend is None or divisor is None:
        return None
    a, b = _number("modulo", "dividend", dividend), _number("modulo", "divisor", divisor)
    if b == 0:
        raise FeelError("modulo(): division by zero")
    # Exact rational arithmetic; Python's % takes the divisor's sign, as FEEL's modulo does.
    r = Fraction(a) % Fraction(b)
    return rt._dec(CTX.divide, Decimal(r.numerator), Decimal(r.denominator))


@builtin("sqrt", [("number", NUMBER)], _nullable(NUMBER))
def _sqrt(n):
    if n is None:
        return None
    x = _number("sqrt", "number", n)
    if x < 0:
        raise FeelError(f"sqrt(): the number must not be negative; got {_show(x)}")
    return rt._dec(CTX.sqrt, x)


@builtin("log", [("number", NUMBER)], _nullable(NUMBER))
def _log(n):
    if n is None:
        return None
    x = _number("log", "number", n)
    if x <= 0:
        raise FeelError(f"log(): the number must be positive; got {_show(x)}")
    return rt._dec(CTX.ln, x)


@builtin("exp", [("number", NUMBER)], _nullable(NUMBER))
def _exp(n):
    return None if n is None else rt._dec(CTX.exp, _number("exp", "number", n))


def _parity(fname: str, n) -> "int | None":
    if n is None:
        return None
    x = _number(fname, "number", n)
    if x != x.to_integral_value(context=CTX):
        raise FeelError(f"{fname}(): expects an integer; got {_show(x)}")
    return int(x) % 2


@builtin("odd", [("number", NUMBER)], _nullable(BOOLEAN))
def _odd(n):
    p = _parity("odd", n)
    return None if p is None else p == 1


@builtin("even", [("number", NUMBER)], _nullable(BOOLEAN))
def _even(n):
    p = _parity("even", n)
    return None if p is None else p == 0


# -- lists -----------------------------------------------------------------------------------------
def _same(x, y) -> bool:
    """FEEL equality for membership: values of another kind are simply not equal."""
    try:
        return rt._equal(x, y) is True
    except FeelError:
        return False


@builtin("list contains", [("list", ANY_LIST), ("element", ANY)], BOOLEAN)
def _list_contains(lst, element):
    if lst is None:
        return None
    return any(_same(x, element) for x in _as_list(lst))


@builtin("count", [("list", ANY_LIST)], NUMBER)
def _count(lst):
    return None if lst is None else Decimal(len(_as_list(lst)))


def _ordered_items(fname: str, items: list) -> list:
    for x in items:
        if x is None:
            raise FeelError(f"{fname}() cannot order a list that contains null")
    return items


def _extreme(fname: str, args, want: int):
    items = _list_or_items(args)
    if not items:
        return None
    best = _ordered_items(fname, items)[0]
    for x in items[1:]:
        if rt._compare(x, best) == want:
            best = x
    return best


@builtin("min", [("list", ANY)], _min_max_result, min_args=1, max_args=None)
def _min(*args):
    return _extreme("min", args, -1)


@builtin("max", [("list", ANY)], _min_max_result, min_args=1, max_args=None)
def _max(*args):
    return _extreme("max", args, 1)


@builtin("sum", [("list", ANY)], _sum_result, min_args=1, max_args=None)
def _sum(*args):
    items = _list_or_items(args)
    if not items:
        return None
    kinds = {type_name(x) for x in items}
    if kinds == {rt.NUMBER}:
        return _decimal_sum([rt._num(x) for x in items])
    if len(kinds) == 1 and kinds <= {rt.DT_DURATION, rt.YM_DURATION}:
        return functools.reduce(rt.add, items)
    raise FeelError(f"sum() expects numbers (or durations of one kind); got {', '.join(sorted(kinds))}")


@builtin("mean", [("list", ANY)], _nullable(NUMBER), min_args=1, max_args=None)
def _mean(*args):
    items = _list_or_items(args)
    if not items:
        return None
    nums = _numbers("mean", items)
    return rt._dec(CTX.divide, _decimal_sum(nums), Decimal(len(nums)))


@builtin("median", [("list", ANY)], _nullable(NUMBER), min_args=1, max_args=None)
def _median(*args):
    items = _list_or_items(args)
    if not items:
        return None
    nums = sorted(_numbers("median", items))
    mid = len(nums) // 2
    if len(nums) % 2:
        return nums[mid]
    return rt._dec(CTX.divide, rt._dec(CTX.add, nums[mid - 1], nums[mid]), Decimal(2))


@builtin("stddev", [("list", ANY)], _nullable(NUMBER), min_args=1, max_args=None)
def _stddev(*args):
    """Sample standard deviation; null for fewer than two numbers."""
    items = _list_or_items(args)
    if items is None:
        return None
    nums = _numbers("stddev", items)
    if len(nums) < 2:
        return None
    n = Decimal(len(nums))
    mean = rt._dec(CTX.divide, _decimal_sum(nums), n)
    squares = _decimal_sum([rt._dec(CTX.multiply, d, d) for d in (CTX.subtract(x, mean) for x in nums)])
    return rt._dec(CTX.sqrt, rt._dec(CTX.divide, squares, CTX.subtract(n, 1)))


@builtin("mode", [("list", ANY)], _nullable(list_of(NUMBER)), min_args=1, max_args=None)
def _mode(*args):
    items = _list_or_items(args)
    if items is None:
        return None
    counts = Counter(_numbers("mode", items))  # Decimal hashing is by value: 2.5 and 2.50 count together
    if not counts:
        return []
    top = max(counts.values())
    return sorted(x for x, c in counts.items() if c == top)


def _truth_values(fname: str, args) -> "list | None":
    items = _list_or_items(args)
    if items is not None:
        for x in items:
            if x is not None and not isinstance(x, bool):
                raise FeelError(f"{fname}() expects booleans; got {type_name(x)} {_show(x)}")
    return items


@builtin("all", [("list", ANY)], _nullable(BOOLEAN), min_args=1, max_args=None)
def _all(*args):
    items = _truth_values("all", args)
    if items is None:
        return None
    if any(x is False for x in items):
        return False
    return None if any(x is None for x in items) else True


@builtin("any", [("list", ANY)], _nullable(BOOLEAN), min_args=1, max_args=None)
def _any(*args):
    items = _truth_values("any", args)
    if items is None:
        return None
    if any(x is True for x in items):
        return True
    return None if any(x is None for x in items) else False


@builtin("sublist", [("list", ANY_LIST), ("start position", NUMBER), ("length", NUMBER)], _same_list_or_null,
         min_args=2)
def _sublist(lst, start, length=_NA):
    if lst is None or start is None or length is None:
        return None
    items = _as_list(lst)
    begin = _position_in("sublist", items, start)
    if length is _NA:
        return items[begin:]
    k = _integer("sublist", "length", length)
    if k < 0 or begin + k > len(items):
        raise FeelError(f"sublist(): length {k} from position {begin + 1} does not fit the list of {len(items)}")
    return items[begin:begin + k]


@builtin("append", [("list", ANY_LIST), ("item", ANY)], _append_result, min_args=1, max_args=None)
def _append(lst, *items):
    return None if lst is None else _as_list(lst) + list(items)


@builtin("concatenate", [("list", ANY_LIST)], _joined_lists, min_args=1, max_args=None)
def _concatenate(*lists):
    if any(x is None for x in lists):
        return None
    return [x for lst in lists for x in _as_list(lst)]


@builtin("insert before", [("list", ANY_LIST), ("position", NUMBER), ("newItem", ANY)], _insert_result)
def _insert_before(lst, position, new_item):
    if lst is None or position is None:
        return None
    items = _as_list(lst)
    i = _position_in("insert before", items, position)
    return items[:i] + [new_item] + items[i:]


@builtin("list replace", [("list", ANY_LIST), ("position", NUMBER), ("newItem", ANY)], _insert_result)
def _list_replace(lst, position, new_item):
    if lst is None or position is None:
        return None
    items = _as_list(lst)
    i = _position_in("list replace", items, position)
    return items[:i] + [new_item] + items[i + 1:]


@builtin("remove", [("list", ANY_LIST), ("position", NUMBER)], _same_list_or_null)
def _remove(lst, position):
    if lst is None or position is None:
        return None
    items = _as_list(lst)
    i = _position_in("remove", items, position)
    return items[:i] + items[i + 1:]


@builtin("reverse", [("list", ANY_LIST)], _same_list)
def _reverse(lst):
    return None if lst is None else _as_list(lst)[::-1]


@builtin("index of", [("list", ANY_LIST), ("match", ANY)], list_of(NUMBER))
def _index_of(lst, match):
    if lst is None:
        return None
    return [Decimal(i) for i, x in enumerate(_as_list(lst), 1) if _same(x, match)]


def _distinct(items: list) -> list:
    out: list = []
    seen: set = set()
    for x in items:
        key = _hash_key(x)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        elif any(_same(x, y) for y in out):
            continue
        out.append(x)
    return out


def _hash_key(x):
    """A hashable stand-in for FEEL equality of simple values; None for lists, contexts, etc."""
    if x is None or isinstance(x, (bool, str, date, time, timedelta, YearsMonths)):
        return (type_name(x), x)
    if rt._is_num(x):
        return (rt.NUMBER, rt._num(x))  # Decimal hashes by value
    return None


@builtin("union", [("list", ANY_LIST)], _joined_lists, min_args=1, max_args=None)
def _union(*lists):
    if any(x is None for x in lists):
        return None
    return _distinct([x for lst in lists for x in _as_list(lst)])


@builtin("distinct values", [("list", ANY_LIST)], _same_list)
def _distinct_values(lst):
    return None if lst is None else _distinct(_as_list(lst))


def _flat(items, out):
    for x in items:
        if isinstance(x, list):
            _flat(x, out)
        else:
            out.append(x)
    return out


@builtin("flatten", [("list", ANY_LIST)], _flatten_result)
def _flatten(lst):
    return None if lst is None else _flat(_as_list(lst), [])


@builtin("product", [("list", ANY)], _nullable(NUMBER), min_args=1, max_args=None)
def _product(*args):
    items = _list_or_items(args)
    if not items:
        return None
    out = Decimal(1)
    for x in _numbers("product", items):
        out = rt._dec(CTX.multiply, out, x)
    return out


@builtin("sort", [("list", ANY_LIST)], _same_list_or_null)
def _sort(lst):
    if lst is None:
        return None
    items = _ordered_items("sort", list(_as_list(lst)))
    return sorted(items, key=functools.cmp_to_key(rt._compare))


# -- conversion ------------------------------------------------------------------------------------
@builtin("string", [("from", ANY)], STRING)
def _string_fn(x):
    return None if x is None else rt.format_value(x)


_GROUPING = (" ", ",", ".")
_DECIMAL_SEP = (",", ".")


@builtin("number", [("from", STRING), ("grouping separator", STRING), ("decimal separator", STRING)],
         _nullable(NUMBER), min_args=1)
def _number_fn(s, grouping=_NA, decimal_sep=_NA):
    if (grouping is _NA) != (decimal_sep is _NA):
        raise FeelError("number() takes the text alone, or the text, a grouping separator and a decimal separator")
    if s is None:
        return None
    text = _string("number", "from", s)
    grouping = None if grouping is _NA else grouping
    decimal_sep = None if decimal_sep is _NA else decimal_sep
    if grouping is not None and grouping not in _GROUPING:
        raise _bad("number", "grouping separator", "one of ' ', ',', '.' or null", grouping)
    if decimal_sep is not None and decimal_sep not in _DECIMAL_SEP:
        raise _bad("number", "decimal separator", "one of ',', '.' or null", decimal_sep)
    if grouping is not None and grouping == decimal_sep:
        raise FeelError("number(): the grouping and decimal separators must differ")
    if grouping:
        text = text.replace(grouping, "")
    if decimal_sep:
        text = text.replace(decimal_sep, ".")
    if not rt._NUMBER_TEXT.fullmatch(text):
        raise FeelError(f"number(): {s!r} is not a number")
    return rt.to_decimal(text)


# `range(text)`: the endpoints are literals only: numbers, strings, @"..." and date("...") style calls.
_RANGE_ENDPOINT = re.compile(
    r'\s*(?:(-?(?:\d+(?:\.\d+)?|\.\d+))'
    r'|"((?:[^"\\]|\\.)*)"'
    r'|@"([^"\\]*)"'
    r'|(date and time|date|time|duration)\s*\(\s*"([^"\\]*)"\s*\))\s*')
_RANGE_OPEN = {"[": True, "(": False, "]": False}
_RANGE_CLOSE = {"]": True, ")": False, "[": False}


def _temporal_literal(text: str):
    if text.startswith(("P", "-P")):
        return rt.parse_duration(text)
    if "T" in text.partition("@")[0]:
        return rt.parse_datetime(text)
    return rt.parse_time(text) if ":" in text else rt.parse_date(text)


def _range_endpoint(text: str, pos: int):
    m = _RANGE_ENDPOINT.match(text, pos)
    if not m:
        raise FeelError(f"range(): expected a literal endpoint at position {pos + 1} of {text!r}")
    number, string, temporal, fname, arg = m.groups()
    if number is not None:
        value = rt.to_decimal(number)
    elif string is not None:
        try:
            value = json.loads(f'"{string}"')
        except ValueError:
            raise FeelError(f"range(): invalid string literal in {text!r}") from None
    elif temporal is not None:
        value = _temporal_literal(temporal)
    else:
        value = BUILTINS[fname].fn(arg)
    return value, m.end()


@builtin("range", [("from", STRING)], _nullable(T.range_of(ANY)))
def _range_fn(s):
    """FEEL's range(text): `"[1..10)"`, `"(@\\"2024-01-01\\"..@\\"2024-12-31\\"]"`; both endpoints
    are required and must be literals in ascending order."""
    if s is None:
        return None
    text = _string("range", "from", s).strip()
    if len(text) < 2 or text[0] not in _RANGE_OPEN or text[-1] not in _RANGE_CLOSE:
        raise FeelError(f"range(): expected a range like [1..10] or (0..1], got {s!r}")
    body = text[1:-1]
    start, pos = _range_endpoint(body, 0)
    if not body.startswith("..", pos):
        raise FeelError(f"range(): expected '..' between the endpoints in {s!r}")
    end, pos = _range_endpoint(body, pos + 2)
    if pos != len(body):
        raise FeelError(f"range(): unexpected text after the end point in {s!r}")
    if rt._compare(start, end) > 0:
        raise FeelError(f"range(): the start {rt.format_value(start)} is after the end {rt.format_value(end)}")
    return rt.range_of(start, end, _RANGE_OPEN[text[0]], _RANGE_CLOSE[text[-1]])


# -- temporal --------------------------------------------------------------------------------------
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


@builtin("date", [("from", ANY), ("month", NUMBER), ("day", NUMBER)], _nullable(DATE), min_args=1)
def _date(x, month=_NA, day=_NA):
    if month is _NA and day is _NA:
        if x is None:
            return None
        if isinstance(x, str):
            return rt.parse_date(x)
        if isinstance(x, datetime):
            return x.date()
        if isinstance(x, date):
            return x
        raise _bad("date", "from", "a string, a date or a date and time", x)
    if day is _NA:
        raise FeelError("date() takes one argument (text or date and time) or three (year, month, day)")
    if x is None or month is None or day is None:
        return None
    y, m, d = (_integer("date", p, v) for p, v in (("year", x), ("month", month), ("day", day)))
    try:
        return date(y, m, d)
    except ValueError as e:
        raise FeelError(f"date(): no such date {y}-{m}-{d} ({e}; supported years: 1 to 9999)") from None


@builtin("time", [("from", ANY), ("minute", NUMBER), ("second", NUMBER), ("offset", DT_DURATION)],
         _nullable(TIME), min_args=1)
def _time(x, minute=_NA, second=_NA, offset=_NA):
    if minute is _NA and second is _NA:
        if x is None:
            return None
        if isinstance(x, str):
            return rt.parse_time(x)
        if isinstance(x, datetime):
            return x.timetz()
        if isinstance(x, date):
            return time(0, 0, tzinfo=timezone.utc)  # TCK: time(date("2017-08-10")) is 00:00:00Z
        if isinstance(x, time):
            return x
        raise _bad("time", "from", "a string, a time, a date or a date and time", x)
    if second is _NA:
        raise FeelError("time() takes one argument (text or date and time) or three or four "
                        "(hour, minute, second, offset)")
    if x is None or minute is None or second is None:
        return None
    h, mi = _integer("time", "hour", x), _integer("time", "minute", minute)
    s = _number("time", "second", second)
    if not (0 <= h <= 23 and 0 <= mi <= 59 and 0 <= s < 60):
        raise FeelError(f"time(): no such time {h}:{mi}:{rt.format_value(s)}")
    whole = int(s)
    micro = int(rt._dec(CTX.multiply, CTX.subtract(s, whole), Decimal(1_000_000)))  # truncated to µs
    tz = None
    if offset is not _NA and offset is not None:
        if not isinstance(offset, timedelta):
            raise _bad("time", "offset", "a days and time duration", offset)
        tz = rt._fixed_offset(offset)
    return time(h, mi, whole, micro, tzinfo=tz)


@builtin("date and time", [("from", ANY), ("time", TIME)], _nullable(DATETIME), min_args=1)
def _date_and_time(x, t=_NA):
    if t is _NA:
        if x is None:
            return None
        if isinstance(x, str):
            return rt.parse_datetime(x)
        if isinstance(x, datetime):
            return x
        if isinstance(x, date):
            return datetime(x.year, x.month, x.day)
        raise _bad("date and time", "from", "a string, a date or a date and time", x)
    if x is None or t is None:
        return None
    if not isinstance(x, date):
        raise _bad("date and time", "date", "a date or a date and time", x)
    if not isinstance(t, time):
        raise _bad("date and time", "time", "a time", t)
    return datetime.combine(x if not isinstance(x, datetime) else x.date(), t)


@builtin("duration", [("from", STRING)], _nullable(DURATION))
def _duration(s):
    return None if s is None else rt.parse_duration(_string("duration", "from", s))


def _local_date(fname: str, pname: str, v) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    raise _bad(fname, pname, "a date or a date and time", v)


@builtin("years and months duration", [("from", ANY), ("to", ANY)], _nullable(YM_DURATION))
def _years_and_months_duration(start, end):
    """Whole months between the local dates, like java.time.Period.between (the TCK ignores the
    time of day: 2011-08-25T15:59:59 to 2015-08-25T15:20:59 is P4Y)."""
    if start is None or end is None:
        return None
    a = _local_date("years and months duration", "from", start)
    b = _local_date("years and months duration", "to", end)
    months = (b.year * 12 + b.month) - (a.year * 12 + a.month)
    if months > 0 and b.day < a.day:
        months -= 1
    elif months < 0 and b.day > a.day:
        months += 1
    return YearsMonths(months)


@builtin("today", [], DATE, needs_clock=True)
def _today(clock):
    if not isinstance(clock, datetime):
        raise FeelError("today(): no decision clock")
    return clock.date()


@builtin("now", [], DATETIME, needs_clock=True)
def _now(clock):
    if not isinstance(clock, datetime):
        raise FeelError("now(): no decision clock")
    return clock


@builtin("day of year", [("date", ANY)], _nullable(NUMBER))
def _day_of_year(d):
    return None if d is None else Decimal(_local_date("day of year", "date", d).timetuple().tm_yday)


@builtin("day of week", [("date", ANY)], _nullable(enum_of(_DAY_NAMES)))
def _day_of_week(d):
    return None if d is None else _DAY_NAMES[_local_date("day of week", "date", d).weekday()]


@builtin("month of year", [("date", ANY)], _nullable(enum_of(_MONTH_NAMES)))
def _month_of_year(d):
    return None if d is None else _MONTH_NAMES[_local_date("month of year", "date", d).month - 1]


@builtin("week of year", [("date", ANY)], _nullable(NUMBER))
def _week_of_year(d):
    return None if d is None else Decimal(_local_date("week of year", "date", d).isocalendar()[1])
