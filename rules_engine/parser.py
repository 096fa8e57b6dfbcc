"""Parse expression text into `nodes` with the Lark LALR grammar in grammar/feel.lark.

Lark's LALR parser calls our node constructors at each reduction (an inline transformer: no
intermediate parse tree), without recursion; the depth check afterwards is iterative too, so hostile
input (very deep nesting) gets a diagnostic instead of a RecursionError. Later stages do recurse,
which is why the depth limit is checked here.
"""
from __future__ import annotations

import operator
import re
import threading
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from lark import Lark, Transformer
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
    return Lark(grammar_text(), parser="lalr", maybe_placeholders=True, transformer=_Build())


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
    node = _PARSED.get(text)
    if node is not None:
        return node
    node = _parse(src, text)
    _remember(text, node)
    return node


# Parsed trees by expression text. Nodes are immutable and their spans are relative to the text,
# so a tree serves every occurrence of the same text: recompiling an edited ruleset (a server's
# --reload, a CI run checking variants) reparses only the expressions that changed.
_PARSED: dict = {}
_PARSED_CHARS = [0]
_PARSED_LOCK = threading.Lock()
MAX_REMEMBERED_CHARS = 3_000_000  # of expression text: about 20,000 typical conditions, ~70 MB of trees


def _remember(text: str, node: n.Node) -> None:
    with _PARSED_LOCK:
        if text in _PARSED:
            return
        _PARSED[text] = node
        _PARSED_CHARS[0] += len(text)
        while _PARSED_CHARS[0] > MAX_REMEMBERED_CHARS:  # forget the oldest first
            old = next(iter(_PARSED))
            del _PARSED[old]
            _PARSED_CHARS[0] -= len(old)


def _parse(src: ExprSource, text: str) -> n.Node:
    # nesting deeper than MAX_DEPTH takes more openers than that (counting them is cheap)
    if sum(map(text.count, "([{-")) > MAX_DEPTH:
        too_deep = _nesting_precheck(text)
        if too_deep is not None:
            raise CompileError([src.diagnostic(Span(too_deep, too_deep + 1), "E-TOO-DEEP",
                                               f"expression is nested deeper than {MAX_DEPTH} levels")])
    node, tokens = _driver().parse(text)
    if node is None:  # not in the language: Lark's own parser finds the error and describes it
        try:
            node = _lark().parse(text)
        except UnexpectedInput as e:
            raise CompileError([_syntax_diagnostic(src, e)]) from None
        tokens = len(text)
    if tokens >= MAX_DEPTH:  # each level of a tree adds a token of its own: fewer cannot nest too deep
        _check_depth(src, node)
    return node


# -- the LALR driver -------------------------------------------------------------------------------

class _Token(str):
    """A lexed terminal: its text, Lark terminal name and offsets (what the _Build callbacks read)."""
    type: str
    start_pos: int
    end_pos: int


class _Driver:
    """Lark's LALR(1) tables, contextual lexer and reduction callbacks, run by a tighter loop.

    Lark builds everything from grammar/feel.lark: the per-state token patterns, the action and
    goto tables, and the callbacks that build our nodes. This loop only drives them, as Lark's
    `parse` does, minus what costs most at 10,000 rules: generic Token objects, dictionary keys that
    are Token instances (compared by a Python-level __eq__), and a callback for every unit
    reduction of the precedence chain (`?sum: product` passes its child through; here such a
    reduction is only a goto). On any input outside the language it returns None and the caller
    asks Lark itself, whose exception describes the error.
    """

    def __init__(self, lark: Lark):
        from lark.parsers.lalr_analysis import Shift
        parser = lark.parser.parser.parser
        table, callbacks = parser.parse_table, parser.callbacks
        if any(isinstance(k, str) for k in callbacks):
            raise AssertionError("terminal callbacks are not supported by the driver")
        self.start = table.start_states["start"]
        self.end = table.end_states["start"]
        # Per parser state, one pattern that skips whitespace and comments (an atomic group: no
        # backtracking into it) and then matches Lark's own alternation of the terminals the
        # state accepts, in Lark's order; and the skip pattern alone, for the end of the text.
        self.lexers = {}
        for state, basic in lark.parser.lexer.lexers.items():
            mres = basic.scanner._mres  # builds the scanner, and with it `callback`
            if basic.callback or len(mres) != 1:
                raise AssertionError("lexer callbacks and split scanners are not supported by the driver")
            ignore = frozenset(basic.ignore_types)
            skip = "(?>(?:" + "|".join(lark.get_terminal(t).pattern.to_regexp() for t in sorted(ignore)) + ")*)"
            self.lexers[state] = (re.compile(skip + "(?:" + mres[0].pattern + ")", mres[0].flags),
                                  re.compile(skip), ignore)
        # state -> {terminal or rule name: (True, next state) | (False, (size, callback, goto name, unit))}
        self.actions: dict = {}
        for state, acts in table.states.items():
            row = {}
            for sym, (action, arg) in acts.items():
                if action is Shift:
                    row[str(sym)] = (True, arg)
                else:
                    size = len(arg.expansion)
                    unit = bool(arg.options.expand1) and size == 1 and arg.alias is None
                    row[str(sym)] = (False, (size, _direct(callbacks[arg], size), str(arg.origin.name), unit))
            self.actions[state] = row
        self.units: dict = {}  # (state below, state, terminal) -> state after the unit reductions there

    def _units(self, below, state, typ):
        """Run the unit reductions that `typ` causes on top of `below`, `state`: each replaces the
        top state with a goto from `below`. Remembered, so the chain costs one lookup next time."""
        key = (below, state, typ)
        actions = self.actions
        while True:
            act = actions[state].get(typ)
            if act is None or act[0] or not act[1][3]:
                self.units[key] = state
                return state
            state = actions[below][act[1][2]][1]

    def parse(self, text: str) -> tuple:
        """(the root node, the number of tokens), or (None, 0) when `text` is not in the language."""
        actions, lexers, end, units = self.actions, self.lexers, self.end, self.units
        states = [self.start]
        values: list = []
        pos, n, shifted = 0, len(text), 0
        while True:
            tok, typ = None, "$END"
            while pos < n:  # the next terminal this state can accept
                lexer, skip, ignore = lexers[states[-1]]
                m = lexer.match(text, pos)
                if m is None:  # only whitespace and comments left, or not in the language
                    if skip.match(text, pos).end() != n:
                        return None, 0
                    break
                typ = m.lastgroup
                start, pos = m.start(typ), m.end()
                if typ in ignore:  # cannot follow the skip pattern, but Lark's rule is to skip it
                    typ = "$END"
                    continue
                tok = _Token(m.group(typ))
                tok.type, tok.start_pos, tok.end_pos = typ, start, pos
                break
            while True:
                act = actions[states[-1]].get(typ)
                if act is None:
                    return None, 0
                if act[0]:  # shift
                    states.append(act[1])
                    values.append(tok)
                    shifted += 1
                    break
                size, callback, goto, unit = act[1]
                if unit:  # the child stands for its parent: only the state changes
                    key = (states[-2], states[-1], typ)
                    top = units.get(key)
                    states[-1] = top if top is not None else self._units(*key)
                else:
                    if size:
                        children = values[-size:]
                        del states[-size:]
                        del values[-size:]
                    else:
                        children = []
                    values.append(callback(children))
                    states.append(actions[states[-1]][goto][1])
                if tok is None and states[-1] == end:
                    return values[-1], shifted


def _direct(callback, size: int):
    """Lark's reduction callback without its generic child filter, when the filter only picks
    children by position: the same call to our _Build method, one Python frame less."""
    from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders
    if type(callback) is not ChildFilterLALR_NoPlaceholders or any(e for _, e in callback.to_include):
        return callback
    build, keep = callback.node_builder, tuple(i for i, _ in callback.to_include)
    if keep == tuple(range(size)):
        return build
    if len(keep) == 1:
        only = keep[0]
        return lambda children: build([children[only]])
    pick = operator.itemgetter(*keep)
    return lambda children: build(list(pick(children)))


@lru_cache(maxsize=1)
def _driver() -> _Driver:
    return _Driver(_lark())


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
    if "\\" not in body:
        return body

    def repl(m: re.Match) -> str:
        s = m.group(1)
        if s[0] in "uU" and len(s) > 1:
            cp = int(s[1:], 16)
            return chr(cp) if cp <= 0x10FFFF else m.group(0)
        return _SIMPLE_ESCAPES.get(s, m.group(0))
    return _ESCAPE.sub(repl, body)


_RANGES = {"range_ii": (True, True), "range_ie": (True, False), "range_ei": (False, True), "range_ee": (False, False)}


def _start(x) -> int:
    span = getattr(x, "span", None)  # a node (the common case first: one C call)
    if span is not None:
        return span.start
    if isinstance(x, list):
        return _start(x[0])
    if isinstance(x, tuple):  # a context entry: (key, value, key start)
        return x[2]
    return x.start_pos  # a token (the driver's, or Lark's)


def _end(x) -> int:
    span = getattr(x, "span", None)
    if span is not None:
        return span.end
    if isinstance(x, list):
        return _end(x[-1])
    if isinstance(x, tuple):
        return x[1].span.end
    return x.end_pos


def _span(c: list) -> Span:
    first = c[0] if c[0] is not None else next(x for x in c if x is not None)
    last = c[-1] if c[-1] is not None else next(x for x in reversed(c) if x is not None)
    return Span(_start(first), _end(last))


def _nodes(c: list) -> list:
    """The children that are nodes (or lists of nodes), without the kept punctuation tokens."""
    return [x for x in c if isinstance(x, (n.Node, list))]


class _Build(Transformer):
    """Builds our nodes while Lark parses (callbacks at each reduction, no intermediate tree).

    Punctuation and keywords that open or close a construct are named terminals in the grammar, so
    they reach these callbacks and spans cover them; the other literals are dropped by Lark.
    """

    def number(self, c):
        return n.Number(_span(c), Decimal(str(c[0])))

    def string(self, c):
        return n.String(_span(c), _unescape(str(c[0])[1:-1]))

    def temporal(self, c):
        return n.Temporal(_span(c), _unescape(str(c[1])[1:-1]))

    def true(self, c):
        return n.Boolean(_span(c), True)

    def false(self, c):
        return n.Boolean(_span(c), False)

    def null(self, c):
        return n.Null(_span(c))

    def name(self, c):
        return n.Name(_span(c), str(c[0]))

    def path(self, c):
        return n.Path(_span(c), c[0], " ".join(str(c[1]).split()))

    def filter(self, c):
        return n.Filter(_span(c), c[0], c[1])

    def fname(self, c):
        return c[0]  # the token; `call` reads it

    def exprs(self, c):  # left-recursive: extend the list built so far (linear, not quadratic)
        if isinstance(c[0], list):
            c[0].append(c[-1])
            return c[0]
        return list(c)

    paren_items = entries = iterations = exprs

    def call(self, c):
        tok = c[0]
        return n.Call(_span(c), " ".join(str(tok).split()), Span(tok.start_pos, tok.end_pos), tuple(c[1] or ()))

    def neg(self, c):
        if isinstance(c[1], n.Number):  # fold `-3.5` into a literal
            return n.Number(_span(c), -c[1].value)
        return n.Negate(_span(c), c[1])

    def arith(self, c):
        return n.Arith(_span(c), str(c[1]), c[0], c[2])

    def compare(self, c):
        return n.Compare(_span(c), str(c[1]), c[0], c[2])

    def and_expr(self, c):  # flatten a and b and c into one node: long chains stay shallow
        return n.And(_span(c), tuple(y for x in c for y in (x.items if isinstance(x, n.And) else (x,))))

    def or_expr(self, c):
        return n.Or(_span(c), tuple(y for x in c for y in (x.items if isinstance(x, n.Or) else (x,))))

    def between(self, c):
        return n.Between(_span(c), c[0], c[1], c[2])

    def in_expr(self, c):
        return n.In(_span(c), c[0], c[1])

    def unary_test(self, c):
        return n.UnaryTest(_span(c), str(c[0]), c[1])

    def tests(self, c):
        inner = _nodes(c)[0]
        return n.Tests(_span(c), tuple(inner) if isinstance(inner, list) else (inner,))

    def list_lit(self, c):
        return n.ListLit(_span(c), tuple(c[1] or ()))

    def entry(self, c):
        key = str(c[0])
        return (_unescape(key[1:-1]) if key.startswith('"') else key, c[1], c[0].start_pos)

    def context_lit(self, c):
        return n.ContextLit(_span(c), tuple((k, v) for k, v, _ in (c[1] or ())))

    def _range(self, c, kind):
        si, ei = _RANGES[kind]
        start, end = _nodes(c)
        return n.RangeLit(_span(c), start, end, si, ei)

    def range_ii(self, c):
        return self._range(c, "range_ii")

    def range_ie(self, c):
        return self._range(c, "range_ie")

    def range_ei(self, c):
        return self._range(c, "range_ei")

    def range_ee(self, c):
        return self._range(c, "range_ee")

    def if_expr(self, c):
        return n.If(_span(c), c[1], c[2], c[3])

    def iteration(self, c):
        return n.Iteration(_span(c), str(c[0]), c[1])

    def iteration_range(self, c):  # `for i in 1..n`: the integers from 1 to n
        return n.Iteration(_span(c), str(c[0]), n.RangeLit(Span(c[1].span.start, c[2].span.end), c[1], c[2], True, True))

    def for_expr(self, c):
        return n.For(_span(c), tuple(c[1]), c[2])

    def some_expr(self, c):
        return n.Quantified(_span(c), "some", tuple(c[1]), c[2])

    def every_expr(self, c):
        return n.Quantified(_span(c), "every", tuple(c[1]), c[2])

    def __default__(self, data, children, meta):
        raise AssertionError(f"unhandled grammar rule {data}")


def _check_depth(src: ExprSource, root: n.Node) -> None:
    """E-TOO-DEEP when the tree nests deeper than MAX_DEPTH (iterative: no recursion here)."""
    if len(src.text) <= MAX_DEPTH:  # every level takes at least one character
        return
    stack = [(root, 1)]
    while stack:
        node, d = stack.pop()
        if d > MAX_DEPTH:
            raise CompileError([src.diagnostic(node.span, "E-TOO-DEEP",
                                               f"expression is nested deeper than {MAX_DEPTH} levels")])
        stack.extend((k, d + 1) for k in node.children())
