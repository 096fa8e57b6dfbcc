"""Parse expression text into `nodes` with the Lark LALR grammar in grammar/feel.lark.

Lark builds its tree without recursion; converting that tree to our nodes is iterative too, so
hostile input (very deep nesting) gets a diagnostic instead of a RecursionError. Later stages do
recurse, which is why the depth limit is checked here.
"""
from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from . import nodes as n
from .diagnostics import CompileError, Diagnostic, ExprSource, Span

MAX_LENGTH = 100_000   # characters in one expression
MAX_DEPTH = 100        # nesting of syntax nodes (the generated Python must stay within CPython's limits)


def grammar_text() -> str:
    """The grammar, read from the installed package (rules_engine.grammar)."""
    return resources.files("rules_engine.grammar").joinpath("feel.lark").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse(src: "ExprSource | str") -> n.Node:
    """Parse one expression; raises CompileError with E-SYNTAX / E-TOO-LONG / E-TOO-DEEP diagnostics."""
    if isinstance(src, str):
        src = ExprSource.standalone(src)
    text = src.text
    if len(text) > MAX_LENGTH:
        raise CompileError([src.diagnostic(Span(0, 1), "E-TOO-LONG",
                                           f"expression is {len(text):,} characters long; the limit is {MAX_LENGTH:,}")])
    if not text.strip():
        raise CompileError([src.diagnostic(Span(0, max(1, len(text))), "E-SYNTAX", "empty expression: expected an expression")])
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise CompileError([_syntax_diagnostic(src, e)]) from None
    return _Builder(src).build(tree)


# -- syntax errors -------------------------------------------------------------------------------

_FRIENDLY = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string", "CMP_OP": "a comparison",
             "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'", "POW_OP": "'**'", "FUNC_MULTI": "a function name",
             "PROPERTY": "a property", "$END": "the end of the expression"}
_EXPR_START = {"NAME", "NUMBER", "STRING"}


def _describe_terminal(name: str) -> str:
    if name in _FRIENDLY:
        return _FRIENDLY[name]
    try:
        pattern = _lark().get_terminal(name).pattern
    except KeyError:
        return name.lower()
    return f"'{pattern.value}'" if isinstance(pattern, PatternStr) else name.lower()


def _expected(names) -> str:
    names = set(names)
    parts = []
    if _EXPR_START <= names:
        parts.append("an expression")
        names -= _EXPR_START | {"LPAR", "LSQB", "LBRACE", "MINUS", "TRUE", "FALSE", "NULL", "IF", "FOR",
                                "SOME", "EVERY", "FUNC_MULTI", "RSQB", "__ANON_0", "AT"}
        names = {x for x in names if _describe_terminal(x) not in ("'@'", "']'", "'['", "'('", "'-'")}
    parts += sorted(_describe_terminal(x) for x in names)
    if len(parts) > 8:
        parts = parts[:8] + ["..."]
    return ", ".join(parts) if len(parts) < 3 else "one of " + ", ".join(parts)


def _syntax_diagnostic(src: ExprSource, e: UnexpectedInput) -> Diagnostic:
    text = src.text
    if isinstance(e, UnexpectedToken) and e.token.type == "$END" or isinstance(e, UnexpectedEOF):
        pos = len(text.rstrip())
        exp = _expected(getattr(e, "expected", None) or getattr(e, "accepts", None) or [])
        return src.diagnostic(Span(max(0, pos - 1), pos), "E-SYNTAX", f"unexpected end of expression: expected {exp}")
    if isinstance(e, UnexpectedToken):
        tok = e.token
        start = tok.start_pos or 0
        shown = str(tok) if len(str(tok)) <= 40 else str(tok)[:37] + "..."
        exp = _expected(e.accepts or e.expected)
        hint = ""
        if tok.type == "NAME" and tok.value in ("AND", "OR", "NOT", "And", "Or"):
            hint = " (operators are lower case: 'and', 'or')"
        elif tok.type == "CMP_OP" and tok.value == "=" and text[max(0, start - 1):start + 1] == "==":
            hint = " (equality is a single '=')"
        return src.diagnostic(Span(start, start + max(1, len(tok.value))), "E-SYNTAX",
                              f"unexpected {shown!r}: expected {exp}{hint}")
    assert isinstance(e, UnexpectedCharacters)
    pos = e.pos_in_stream
    ch = text[pos]
    if ch == '"':
        return src.diagnostic(Span(pos, pos + 1), "E-SYNTAX", "unterminated string: expected a closing '\"'")
    if text.startswith("/*", pos):
        return src.diagnostic(Span(pos, pos + 2), "E-SYNTAX", "unterminated comment: expected '*/'")
    hint = ""
    if ch in "&|!":
        hint = " (use 'and', 'or', 'not(...)' and '!=')"
    elif ch == "'":
        hint = " (strings use double quotes)"
    return src.diagnostic(Span(pos, pos + 1), "E-SYNTAX", f"unexpected character {ch!r}{hint}")


# -- tree to nodes -------------------------------------------------------------------------------

_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{6}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "/": "/", "b": "\b", "f": "\f"}


def _unescape(body: str) -> str:
    def repl(m: re.Match) -> str:
        s = m.group(1)
        if s[0] in "uU" and len(s) > 1:
            return chr(int(s[1:], 16))
        return _SIMPLE_ESCAPES.get(s, s)
    return _ESCAPE.sub(repl, body)


_RANGES = {"range_ii": (True, True), "range_ie": (True, False), "range_ei": (False, True), "range_ee": (False, False)}


class _Builder:
    def __init__(self, src: ExprSource):
        self.src = src

    def build(self, tree) -> n.Node:
        # Post-order over the Lark tree with an explicit stack; depth tracked per node.
        done: dict[int, tuple[n.Node, int]] = {}
        stack = [(tree, False)]
        while stack:
            t, visited = stack.pop()
            if not isinstance(t, Tree):
                continue
            if not visited:
                stack.append((t, True))
                stack.extend((c, False) for c in t.children if isinstance(c, Tree))
                continue
            kids = [done.pop(id(c)) if isinstance(c, Tree) else c for c in t.children]
            depth = 1 + max((k[1] for k in kids if isinstance(k, tuple)), default=0)
            node = self._node(t, [k[0] if isinstance(k, tuple) else k for k in kids])
            if depth > MAX_DEPTH:
                raise CompileError([self.src.diagnostic(node.span, "E-TOO-DEEP",
                                                        f"expression is nested deeper than {MAX_DEPTH} levels")])
            done[id(t)] = (node, depth)
        return done[id(tree)][0]

    def _span(self, t: Tree) -> Span:
        m = t.meta
        return Span(m.start_pos, m.end_pos) if not m.empty else Span(0, 0)

    def _node(self, t: Tree, c: list):
        span = self._span(t)
        kind = t.data if isinstance(t.data, str) else t.data.value
        if kind == "number":
            return n.Number(span, Decimal(str(c[0])))
        if kind == "string":
            return n.String(span, _unescape(str(c[0])[1:-1]))
        if kind == "temporal":
            return n.Temporal(span, _unescape(str(c[0])[1:-1]))
        if kind == "true":
            return n.Boolean(span, True)
        if kind == "false":
            return n.Boolean(span, False)
        if kind == "null":
            return n.Null(span)
        if kind == "name":
            return n.Name(span, str(c[0]))
        if kind == "path":
            return n.Path(span, c[0], " ".join(str(c[1]).split()))
        if kind == "filter":
            return n.Filter(span, c[0], c[1])
        if kind == "fname":
            return c[0]  # the token; `call` reads it
        if kind == "call":
            tok = c[0]
            return n.Call(span, " ".join(str(tok).split()), Span(tok.start_pos, tok.end_pos),
                          tuple(x for x in c[1:] if x is not None))
        if kind == "neg":
            if isinstance(c[0], n.Number):  # fold `-3.5` into a literal
                return n.Number(span, -c[0].value)
            return n.Negate(span, c[0])
        if kind == "arith":
            return n.Arith(span, str(c[1]), c[0], c[2])
        if kind == "compare":
            return n.Compare(span, str(c[1]), c[0], c[2])
        if kind in ("and_expr", "or_expr"):
            cls = n.And if kind == "and_expr" else n.Or
            items = []
            for x in c:  # flatten a or b or c into one node: long chains stay shallow
                items.extend(x.items if isinstance(x, cls) else (x,))
            return cls(span, tuple(items))
        if kind == "between":
            return n.Between(span, c[0], c[1], c[2])
        if kind == "in_expr":
            return n.In(span, c[0], c[1])
        if kind == "unary_test":
            return n.UnaryTest(span, str(c[0]), c[1])
        if kind == "tests":
            return n.Tests(span, tuple(c))
        if kind == "list_lit":
            return n.ListLit(span, tuple(x for x in c if x is not None))
        if kind == "entry":
            key = str(c[0])
            return (_unescape(key[1:-1]) if key.startswith('"') else key, c[1])
        if kind == "context_lit":
            return n.ContextLit(span, tuple(x for x in c if x is not None))
        if kind in _RANGES:
            si, ei = _RANGES[kind]
            return n.RangeLit(span, c[0], c[1], si, ei)
        if kind == "if_expr":
            return n.If(span, c[0], c[1], c[2])
        if kind == "iteration":
            return n.Iteration(span, str(c[0]), c[1])
        if kind == "for_expr":
            return n.For(span, tuple(c[:-1]), c[-1])
        if kind in ("some_expr", "every_expr"):
            return n.Quantified(span, kind.split("_")[0], tuple(c[:-1]), c[-1])
        raise AssertionError(f"unhandled grammar rule {kind}")
