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

class _Driver:
    """Lark's LALR(1) tables, contextual lexer and reduction callbacks, run by a tighter loop.

    Lark builds everything from grammar/feel.lark: the per-state token patterns, the action and
    goto tables, and for each rule which children reach its callback and which _MAKE function
    that is. This loop only drives them, as Lark's `parse` does, minus what costs most at 10,000
    rules: Token objects (a token here is its text, and the driver keeps every value's bounds in
    the text on a stack of its own, so a reduction knows its span without asking its children),
    dictionary keys that are Token instances (compared by a Python-level __eq__), and a callback
    and a loop turn for every unit reduction of the precedence chain (`?sum: product` passes its
    child through: here the chain after a goto is one remembered lookup). On any input outside the
    language it returns None and the caller asks Lark itself, whose exception describes the error.
    """

    def __init__(self, lark: Lark):
        from lark.parsers.lalr_analysis import Shift
        parser = lark.parser.parser.parser
        table, callbacks = parser.parse_table, parser.callbacks
        if any(isinstance(k, str) for k in callbacks):
            raise AssertionError("terminal callbacks are not supported by the driver")
        self.start = table.start_states["start"]
        self.end = table.end_states["start"]
        # Per parser state, the match method of one pattern that skips whitespace and comments (an
        # atomic group: no backtracking into it) and then matches Lark's own alternation of the
        # terminals the state accepts, in Lark's order; and the skip pattern alone, for the end.
        from lark.lexer import _create_unless
        self.lexers, self.skips, ignore = {}, {}, None
        built: dict = {}  # id(Lark's lexer) -> (match, skip match): many states share one lexer
        for state, basic in lark.parser.lexer.lexers.items():
            if id(basic) not in built:
                if ignore is None:
                    ignore = frozenset(basic.ignore_types)
                elif ignore != frozenset(basic.ignore_types):
                    raise AssertionError("the driver assumes one set of ignored terminals")
                # The terminals and the alternation of Lark's scanner for this lexer (what
                # BasicLexer._build_scanner and Scanner._build_mres make), without compiling
                # Lark's own copy of each pattern: that took half the time of building the driver.
                terminals, callback = _create_unless(basic.terminals, basic.g_regex_flags, basic.re, basic.use_bytes)
                if callback or basic.user_callbacks or basic.use_bytes or basic.re is not re:
                    raise AssertionError("lexer callbacks and byte patterns are not supported by the driver")
                alternation = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals)
                skip = "(?>(?:" + "|".join(lark.get_terminal(t).pattern.to_regexp() for t in sorted(ignore)) + ")*)"
                built[id(basic)] = (re.compile(skip + "(?:" + alternation + ")", basic.g_regex_flags).match,
                                    re.compile(skip, basic.g_regex_flags).match)
            self.lexers[state], self.skips[state] = built[id(basic)]
        self.ignore = ignore
        # state -> {terminal or rule name: next state (a shift or goto, >= 0) | ~index in self.rules}
        self.actions: dict = {}
        self.rules: list = []
        index: dict = {}
        for state, acts in table.states.items():
            row = {}
            for sym, (action, arg) in acts.items():
                if action is Shift:
                    row[str(sym)] = arg
                else:
                    if arg not in index:
                        index[arg] = len(self.rules)
                        self.rules.append(_reduction(arg, callbacks[arg]))
                    row[str(sym)] = ~index[arg]
            self.actions[state] = row
        self.table = {state: (self.lexers[state], self.actions[state]) for state in self.actions}
        # (state below, rule name, terminal) -> the state after the goto and the unit reductions
        # that the terminal causes there (each a goto from the same state below), and the action
        # for the terminal in that state
        self.after: dict = {}

    def _after(self, below, goto, typ):
        """(state, action) after reducing to `goto` on top of `below` with `typ` next, remembered:
        the chain of unit reductions (`?sum: product` and the like) costs one lookup next time."""
        actions, rules, end = self.actions, self.rules, self.end
        state = actions[below][goto]
        while True:
            act = actions[state].get(typ)
            if (state == end and typ == "$END") or act is None or act >= 0 or not rules[~act][6]:
                break
            state = actions[below][rules[~act][3]]
        hit = self.after[below, goto, typ] = (state, act)
        return hit

    def parse(self, text: str) -> tuple:
        """(the root node, the number of tokens), or (None, 0) when `text` is not in the language."""
        table, rules, ignore, after = self.table, self.rules, self.ignore, self.after
        spans = _SPANS
        end = self.end
        state = self.start
        states = [state]
        values: list = []
        bounds: list = []  # (start, end) in the text of each value
        pos, n, shifted = 0, len(text), 0
        while True:
            tok, typ = None, "$END"
            lexer, row = table[state]
            while pos < n:  # the next terminal this state can accept
                m = lexer(text, pos)
                if m is None:  # only whitespace and comments left, or not in the language
                    if self.skips[state](text, pos).end() != n:
                        return None, 0
                    break
                typ = m.lastgroup
                tok_bound = m.span(typ)
                pos = tok_bound[1]
                if typ in ignore:  # cannot follow the skip pattern, but Lark's rule is to skip it
                    typ = "$END"
                    continue
                tok = m.group(typ)
                break
            act = row.get(typ)
            while True:
                if act is None:
                    return None, 0
                if act >= 0:  # shift
                    states.append(act)
                    state = act
                    values.append(tok)
                    bounds.append(tok_bound)
                    shifted += 1
                    break
                size, make, pick, goto, first, last, _ = rules[~act]
                bound = (bounds[first][0], bounds[last][1])
                span = spans.get(bound)
                if span is None:
                    span = _new_span(bound)
                children = values[-size:]
                del states[-size:], values[-size:], bounds[-size:]
                values.append(make(children if pick is None else pick(children), span))
                bounds.append(bound)
                below = states[-1]
                hit = after.get((below, goto, typ))
                if hit is None:
                    hit = self._after(below, goto, typ)
                state, act = hit
                states.append(state)
                if state == end and tok is None:
                    return values[-1], shifted


# Spans by (start, end), shared by all trees: they are immutable values, and the same few
# thousand recur across a ruleset's expressions (`customer.age` at 2..14 in many of them).
# Bounded, so that long or many distinct expressions cannot grow it without end.
_SPANS: dict = {}
MAX_SHARED_SPANS = 50_000


def _new_span(bound: tuple) -> Span:
    span = Span(*bound)
    if len(_SPANS) < MAX_SHARED_SPANS:
        _SPANS[bound] = span
    return span


def _reduction(rule, callback) -> tuple:
    """(size, make, pick, goto name, first, last, unit) for reducing `rule`, read from Lark's callback
    for it: `pick` selects the children Lark's child filter would pass (None: all of them), `make` is
    the _MAKE function its transformer method calls, `first`, `last` index the value stack at the
    first and last child that is kept and not a placeholder, and `unit` says the rule only passes
    its one child through (the driver folds such reductions into the goto before them)."""
    from lark.parse_tree_builder import ChildFilterLALR, ChildFilterLALR_NoPlaceholders, ExpandSingleChild
    size, goto = len(rule.expansion), str(rule.origin.name)
    f, order = callback, list(range(size))  # the children as the builder gets them; None is a placeholder
    if type(f) is ChildFilterLALR_NoPlaceholders:
        if any(expand for _, expand in f.to_include):
            raise AssertionError("inlined rules are not supported by the driver")
        f, order = f.node_builder, [i for i, _ in f.to_include]
    elif type(f) is ChildFilterLALR:
        order = []
        for i, expand, nones in f.to_include:
            if expand:
                raise AssertionError("inlined rules are not supported by the driver")
            order += [None] * nones + [i]
        f, order = f.node_builder, order + [None] * f.append_none
    kept = [i for i in order if i is not None]
    if not kept:
        raise AssertionError(f"rule {rule} keeps no child")
    first, last = kept[0] - size, kept[-1] - size
    if type(f) is ExpandSingleChild and len(order) == 1:
        only = order[0]
        return size, (lambda c, span: c[only]), None, goto, first, last, size == 1
    f = f.node_builder if type(f) is ExpandSingleChild else f
    make = getattr(getattr(f, "__func__", None), "make", None)
    if make is None:
        raise AssertionError(f"no _MAKE function for rule {rule}")
    if order == list(range(size)):
        return size, make, None, goto, first, last, False
    if None in order:
        return size, make, (lambda c: [None if i is None else c[i] for i in order]), goto, first, last, False
    if len(order) == 1:
        only = order[0]
        return size, make, (lambda c: [c[only]]), goto, first, last, False
    return size, make, operator.itemgetter(*order), goto, first, last, False


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
    return x.start_pos  # a Lark token


def _end(x) -> int:
    span = getattr(x, "span", None)
    if span is not None:
        return span.end
    if isinstance(x, list):
        return _end(x[-1])
    if isinstance(x, tuple):
        return x[1].span.end
    return x.end_pos


def _nodes(c) -> list:
    """The children that are nodes (or lists of nodes), without the kept punctuation tokens."""
    return [x for x in c if isinstance(x, (n.Node, list))]


# Node constructors by grammar rule (or alias) name. Each gets the children Lark's child filter
# passes (`c`: tokens, nodes, lists; None for an absent optional part) and the span of the text
# they cover, from the first child that is not None to the last. Tokens are str (Lark's
# Token or the driver's plain text), hence the str() wherever one is kept in a node.
_MAKE: dict = {}


def _rule(*names):
    def register(make):
        for name in names:
            _MAKE[name] = make
        return make
    return register


@_rule("number")
def _number(c, span):
    return n.Number(span, Decimal(str(c[0])))


@_rule("string")
def _string(c, span):
    return n.String(span, _unescape(str(c[0])[1:-1]))


@_rule("temporal")
def _temporal(c, span):
    return n.Temporal(span, _unescape(str(c[1])[1:-1]))


@_rule("true")
def _true(c, span):
    return n.Boolean(span, True)


@_rule("false")
def _false(c, span):
    return n.Boolean(span, False)


@_rule("null")
def _null(c, span):
    return n.Null(span)


@_rule("name")
def _name(c, span):
    return n.Name(span, str(c[0]))


@_rule("path")
def _path(c, span):
    name = c[1]  # a multi-word property (`time  offset`) is spelt with single spaces
    return n.Path(span, c[0], str(name) if name.isidentifier() else " ".join(name.split()))


@_rule("filter")
def _filter(c, span):
    return n.Filter(span, c[0], c[1])


@_rule("fname")
def _fname(c, span):
    return c[0]  # the token; `call` reads it


@_rule("exprs", "paren_items", "entries", "iterations")
def _exprs(c, span):  # left-recursive: extend the list built so far (linear, not quadratic)
    if isinstance(c[0], list):
        c[0].append(c[-1])
        return c[0]
    return list(c)


@_rule("call")
def _call(c, span):
    tok = c[0]  # its text runs from the call's start
    return n.Call(span, " ".join(tok.split()), Span(span.start, span.start + len(tok)), tuple(c[1] or ()))


@_rule("neg")
def _neg(c, span):
    if isinstance(c[1], n.Number):  # fold `-3.5` into a literal
        return n.Number(span, -c[1].value)
    return n.Negate(span, c[1])


@_rule("arith")
def _arith(c, span):
    return n.Arith(span, str(c[1]), c[0], c[2])


@_rule("compare")
def _compare(c, span):
    return n.Compare(span, str(c[1]), c[0], c[2])


def _flat(cls, c, span):
    """One `cls` node (And or Or) of the children, an operand of the same kind spliced in: a long
    `a and b and c ...` chain stays one shallow node."""
    items = ()
    for x in c:
        items += x.items if isinstance(x, cls) else (x,)
    return cls(span, items)


@_rule("and_expr")
def _and(c, span):
    return _flat(n.And, c, span)


@_rule("or_expr")
def _or(c, span):
    return _flat(n.Or, c, span)


@_rule("between")
def _between(c, span):
    return n.Between(span, c[0], c[1], c[2])


@_rule("in_expr")
def _in(c, span):
    return n.In(span, c[0], c[1])


@_rule("unary_test")
def _unary_test(c, span):
    return n.UnaryTest(span, str(c[0]), c[1])


@_rule("tests")
def _tests(c, span):
    inner = _nodes(c)[0]
    return n.Tests(span, tuple(inner) if isinstance(inner, list) else (inner,))


@_rule("list_lit")
def _list(c, span):
    return n.ListLit(span, tuple(c[1] or ()))


@_rule("entry")
def _entry(c, span):
    key = str(c[0])
    return (_unescape(key[1:-1]) if key.startswith('"') else key, c[1], span.start)


@_rule("context_lit")
def _context(c, span):
    return n.ContextLit(span, tuple((k, v) for k, v, _ in (c[1] or ())))


def _range(kind):
    si, ei = _RANGES[kind]

    def make(c, span):
        start, end = _nodes(c)
        return n.RangeLit(span, start, end, si, ei)
    return make


for _kind in _RANGES:
    _MAKE[_kind] = _range(_kind)


@_rule("if_expr")
def _if(c, span):
    return n.If(span, c[1], c[2], c[3])


@_rule("iteration")
def _iteration(c, span):
    return n.Iteration(span, str(c[0]), c[1])


@_rule("iteration_range")
def _iteration_range(c, span):  # `for i in 1..n`: the integers from 1 to n
    return n.Iteration(span, str(c[0]), n.RangeLit(Span(c[1].span.start, c[2].span.end), c[1], c[2], True, True))


@_rule("for_expr")
def _for(c, span):
    return n.For(span, tuple(c[1]), c[2])


@_rule("some_expr")
def _some(c, span):
    return n.Quantified(span, "some", tuple(c[1]), c[2])


@_rule("every_expr")
def _every(c, span):
    return n.Quantified(span, "every", tuple(c[1]), c[2])


class _Build(Transformer):
    """The _MAKE functions as Lark's inline transformer: Lark calls them at each reduction when it
    parses (the driver's fallback, and the reference the tests compare the driver with)."""

    def __default__(self, data, children, meta):
        raise AssertionError(f"unhandled grammar rule {data}")


def _transformer_method(make):
    def method(self, c):
        first = c[0] if c[0] is not None else next(x for x in c if x is not None)
        last = c[-1] if c[-1] is not None else next(x for x in reversed(c) if x is not None)
        return make(c, Span(_start(first), _end(last)))
    method.make = make  # what the driver calls instead
    return method


for _name, _make in _MAKE.items():
    setattr(_Build, _name, _transformer_method(_make))


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
