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
    too_deep = _nesting_precheck(text)
    if too_deep is not None:
        raise CompileError([src.diagnostic(Span(too_deep, too_deep + 1), "E-TOO-DEEP",
                                           f"expression is nested deeper than {MAX_DEPTH} levels")])
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise CompileError([_syntax_diagnostic(src, e)]) from None
    return _Builder(src).build(tree)


# Strings and comments match up to the end of the text even when unterminated, so that the scan is
# linear: a failed match restarted at every quote of `"\"\"\"...` would be quadratic.
_NESTING = re.compile(r'"(?:[^"\\]|\\.)*(?:"|\\?\Z)|/\*(?:[^*]|\*(?!/))*(?:\*/|\Z)|//[^\n]*|[\[({]|[\])}]|(?:-\s*)+', re.S)


def _nesting_precheck(text: str) -> "int | None":
    """Offset where brackets (or a run of unary minus signs) nest deeper than MAX_DEPTH, else None.

    A cheap scan before Lark, so absurd nesting is rejected in milliseconds rather than after
    building a tree of 100,000 levels. Strings and comments are skipped.
    """
    depth = 0
    for m in _NESTING.finditer(text):
        ch = text[m.start()]
        if ch in "[({":
            depth += 1
            if depth > MAX_DEPTH:
                return m.start()
        elif ch in "])}":
            depth = max(0, depth - 1)
        elif ch == "-" and m.group().count("-") > MAX_DEPTH:
            return m.start()
    return None


# -- syntax errors -------------------------------------------------------------------------------

_FRIENDLY = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string", "CMP_OP": "a comparison",
             "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'", "POW_OP": "'**'", "FUNC_MULTI": "a function name",
             "PROPERTY": "a property", "KEYWORD": "a name", "OPEN_END": "'['", "OPEN_START": "']'", "$END": "the end of the expression"}
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
    parts += sorted({_describe_terminal(x) for x in names})
    if len(parts) > 8:
        parts = parts[:8] + ["..."]
    return ", ".join(parts) if len(parts) < 3 else "one of " + ", ".join(parts)


_KEYWORDS = {"and", "or", "in", "between", "if", "then", "else", "for", "return", "some", "every", "satisfies",
             "true", "false", "null", "not"}
_WORDS_BEFORE = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*\s+)+\Z")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORDS_AFTER = re.compile(r"(?:\s+[A-Za-z_][A-Za-z0-9_]*)*(?=\s*\()")


def _unknown_multi_word_function(src: ExprSource, text: str, start: int, end: int) -> "Diagnostic | None":
    """`strin length(x)`: a misspelt function name with spaces reads as two names in a row. When the
    words before `(` are close to a built-in's name, say so instead of a bare syntax error."""
    before = _WORDS_BEFORE.search(text, max(0, start - 200), start)
    after = _WORDS_AFTER.match(text, end)
    if before is None or after is None:
        return None
    words = [(m.group(), m.start()) for m in _WORD.finditer(text, before.start(), after.end())]
    while any(w in _KEYWORDS for w, _ in words):  # `x and strin length(y)`: the words after the last keyword
        words = words[1:]
    if len(words) < 2:
        return None
    from .builtins import BUILTINS  # only on this error path
    from .diagnostics import suggest
    name = " ".join(w for w, _ in words)
    best = suggest(name, [b for b in BUILTINS if " " in b])
    if best is None:
        return None
    return src.diagnostic(Span(words[0][1], after.end()), "E-UNKNOWN-FUNCTION",
                          f"unknown function '{name}' (did you mean '{best}'?)")


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
        for at in (start - 1, start):  # `/*` without `*/` lexes as '/' then '*': report the comment
            if at >= 0 and text.startswith("/*", at) and "*/" not in text[at + 2:]:
                return src.diagnostic(Span(at, at + 2), "E-SYNTAX", "unterminated comment: expected '*/'")
        if tok.type == "NAME":
            unknown = _unknown_multi_word_function(src, text, start, tok.end_pos)
            if unknown is not None:
                return unknown
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
# FEEL's string escapes. Any other backslash sequence is kept as written, so regular expressions
# read as their authors meant them: `split(s, "\s")`, `matches(s, "\d{3}")`, `"\b"` (TCK 0061, 1111).
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _unescape(body: str) -> str:
    def repl(m: re.Match) -> str:
        s = m.group(1)
        if s[0] in "uU" and len(s) > 1:
            cp = int(s[1:], 16)
            return chr(cp) if cp <= 0x10FFFF else m.group(0)
        return _SIMPLE_ESCAPES.get(s, m.group(0))
    return _ESCAPE.sub(repl, body)


_SEQUENCES = {"exprs", "paren_items", "entries"}
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
            kind = t.data if isinstance(t.data, str) else t.data.value
            if kind in _SEQUENCES:  # a list of items, not a node: no level of its own
                depth = max((k[1] for k in kids if isinstance(k, tuple)), default=0)
            elif kind in ("and_expr", "or_expr"):  # `a and b and c` becomes one flat node
                depth = 1 + max((k[1] - 1 if isinstance(c, Tree) and c.data == kind else k[1]
                                 for c, k in zip(t.children, kids) if isinstance(k, tuple)), default=0)
            else:
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
        if kind in _SEQUENCES:  # left-recursive: extend the list built so far (linear, not quadratic)
            if isinstance(c[0], list):
                c[0].append(c[-1])
                return c[0]
            return list(c)
        if kind == "call":
            tok = c[0]
            return n.Call(span, " ".join(str(tok).split()), Span(tok.start_pos, tok.end_pos), tuple(c[1] or ()))
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
            return n.Tests(span, tuple(c[0]) if isinstance(c[0], list) else tuple(c))
        if kind == "list_lit":
            return n.ListLit(span, tuple(c[0] or ()))
        if kind == "entry":
            key = str(c[0])
            return (_unescape(key[1:-1]) if key.startswith('"') else key, c[1])
        if kind == "context_lit":
            return n.ContextLit(span, tuple(c[0] or ()))
        if kind in _RANGES:
            si, ei = _RANGES[kind]
            start, end = [x for x in c if not isinstance(x, Token)]  # drop OPEN_START / OPEN_END
            return n.RangeLit(span, start, end, si, ei)
        if kind == "if_expr":
            return n.If(span, c[0], c[1], c[2])
        if kind == "iteration":
            return n.Iteration(span, str(c[0]), c[1])
        if kind == "iteration_range":  # `for i in 1..n`: the integers from 1 to n
            return n.Iteration(span, str(c[0]), n.RangeLit(Span(c[1].span.start, c[2].span.end), c[1], c[2], True, True))
        if kind == "for_expr":
            return n.For(span, tuple(c[:-1]), c[-1])
        if kind in ("some_expr", "every_expr"):
            return n.Quantified(span, kind.split("_")[0], tuple(c[:-1]), c[-1])
        raise AssertionError(f"unhandled grammar rule {kind}")
