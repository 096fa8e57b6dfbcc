"""Unit tests of the parser: grammar/feel.lark (Lark, LALR) -> rules_engine.nodes."""
from __future__ import annotations

import dataclasses
import time
from decimal import Decimal

import pytest

from rules_engine import nodes as n
from rules_engine.diagnostics import CompileError, ExprSource
from rules_engine.parser import MAX_DEPTH, MAX_LENGTH, grammar_text, parse


def text_of(src: str, node: n.Node) -> str:
    return src[node.span.start:node.span.end]


def diag(src: str):
    """The single diagnostic of a text that must not parse."""
    with pytest.raises(CompileError) as e:
        parse(src)
    assert len(e.value.diagnostics) == 1, e.value.diagnostics
    return e.value.diagnostics[0]


def shape(node) -> str:
    """A compact s-expression of a tree, for precedence tests."""
    if isinstance(node, n.Number):
        return str(node.value)
    if isinstance(node, n.String):
        return repr(node.value)
    if isinstance(node, n.Boolean):
        return str(node.value).lower()
    if isinstance(node, n.Null):
        return "null"
    if isinstance(node, n.Name):
        return node.name
    if isinstance(node, n.Path):
        return f"{shape(node.base)}.{node.name}"
    if isinstance(node, n.Arith):
        return f"({node.op} {shape(node.left)} {shape(node.right)})"
    if isinstance(node, n.Compare):
        return f"({node.op} {shape(node.left)} {shape(node.right)})"
    if isinstance(node, n.Negate):
        return f"(neg {shape(node.operand)})"
    if isinstance(node, (n.And, n.Or)):
        return f"({type(node).__name__.lower()} {' '.join(shape(x) for x in node.items)})"
    if isinstance(node, n.Between):
        return f"(between {shape(node.value)} {shape(node.low)} {shape(node.high)})"
    if isinstance(node, n.In):
        return f"(in {shape(node.value)} {shape(node.test)})"
    if isinstance(node, n.UnaryTest):
        return f"({node.op}_ {shape(node.operand)})"
    if isinstance(node, n.Tests):
        return f"(tests {' '.join(shape(x) for x in node.items)})"
    if isinstance(node, n.If):
        return f"(if {shape(node.cond)} {shape(node.then)} {shape(node.else_)})"
    if isinstance(node, n.Call):
        return f"({node.name!r} {' '.join(shape(a) for a in node.args)})".replace(" )", ")")
    if isinstance(node, n.Filter):
        return f"{shape(node.base)}[{shape(node.cond)}]"
    if isinstance(node, n.ListLit):
        return "[" + ", ".join(shape(x) for x in node.items) + "]"
    if isinstance(node, n.RangeLit):
        return ("[" if node.start_incl else "(") + f"{shape(node.start)}..{shape(node.end)}" + ("]" if node.end_incl else ")")
    return type(node).__name__


# -- literals and spans ----------------------------------------------------------------------------

def test_number_and_string_literals():
    num = parse("3.50")
    assert isinstance(num, n.Number) and num.value == Decimal("3.50") and num.span.start == 0 and num.span.end == 4
    assert parse(".5").value == Decimal("0.5")
    assert parse("-3.5").value == Decimal("-3.5")          # folded into the literal
    s = parse(r'"a \"b\" \\ \n \u0041"')
    assert isinstance(s, n.String) and s.value == 'a "b" \\ \n A'
    assert isinstance(parse("true"), n.Boolean) and parse("false").value is False
    assert isinstance(parse("null"), n.Null)


def test_unknown_escapes_are_kept_for_regular_expressions():
    assert parse(r'"\d{3}\s\w"').value == r"\d{3}\s\w"
    assert parse(r'"\b"').value == r"\b"


def test_temporal_literal():
    t = parse('@"2026-11-22T10:00:00Z"')
    assert isinstance(t, n.Temporal) and t.text == "2026-11-22T10:00:00Z" and t.span == t.span.__class__(0, 23)


def test_nodes_are_immutable_and_carry_spans():
    src = 'customer.tier = "gold"'
    node = parse(src)
    with pytest.raises(dataclasses.FrozenInstanceError):
        node.op = "!="  # type: ignore[misc]
    assert isinstance(node, n.Compare)
    assert text_of(src, node) == src
    assert text_of(src, node.left) == "customer.tier"
    assert text_of(src, node.left.base) == "customer"
    assert text_of(src, node.right) == '"gold"'
    for sub in n.walk(node):
        assert 0 <= sub.span.start < sub.span.end <= len(src)


def test_spans_skip_comments_and_whitespace():
    src = "/* lead */ a +\n  // note\n  b"
    node = parse(src)
    assert isinstance(node, n.Arith)
    assert text_of(src, node.left) == "a"
    assert text_of(src, node.right) == "b"
    assert text_of(src, node) == "a +\n  // note\n  b"


def test_comments():
    assert shape(parse("1 + /* two */ 2 // trailing")) == "(+ 1 2)"
    assert shape(parse("// first line\nx")) == "x"
    assert shape(parse('"// not a comment"')) == "'// not a comment'"
    assert shape(parse('"/* nor this */"')) == "'/* nor this */'"


# -- precedence and associativity --------------------------------------------------------------------

@pytest.mark.parametrize("src, expected", [
    ("1 + 2 * 3", "(+ 1 (* 2 3))"),
    ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
    ("1 - 2 - 3", "(- (- 1 2) 3)"),
    ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
    ("2 * 3 ** 2", "(* 2 (** 3 2))"),
    ("-x ** 2", "(** (neg x) 2)"),               # language.md: `**`, then unary `-` binds tightest
    ("2 ** -1", "(** 2 -1)"),
    ("a + b = c", "(= (+ a b) c)"),
    ("a or b and c", "(or a (and b c))"),
    ("a and b or c and d", "(or (and a b) (and c d))"),
    ("a and b and c", "(and a b c)"),               # chains are flattened
    ("x = 1 and y != 2", "(and (= x 1) (!= y 2))"),
    ("x between 1 + 1 and 5", "(between x (+ 1 1) 5)"),
    ("x between 1 and 2 and y", "(and (between x 1 2) y)"),
    ("x in < 10 or y", "(or (in x (<_ 10)) y)"),
    ("if a then 1 else 2 + 3", "(if a 1 (+ 2 3))"),
    ("if a or b then x.y else -1", "(if (or a b) x.y -1)"),
    ('not(a) or b', "(or ('not' a) b)"),
    ("a.b.c[item > 1].d", "a.b.c[(> item 1)].d"),
    ("xs[1] + xs[-1]", "(+ xs[1] xs[-1])"),
    ('"a" + "b" = "ab"', "(= (+ 'a' 'b') 'ab')"),
])
def test_precedence(src, expected):
    assert shape(parse(src)) == expected


def test_comparisons_do_not_chain():
    d = diag("1 < 2 < 3")
    assert d.code == "E-SYNTAX" and d.col == 7


# -- function names with spaces ------------------------------------------------------------------------

@pytest.mark.parametrize("src, name", [
    ("string length(x)", "string length"),
    ('date and time("2026-11-22T10:00:00Z")', "date and time"),
    ('starts with(name, "A")', "starts with"),
    ("upper  case(x)", "upper case"),            # any whitespace between the words
    ("years and\n months duration(a, b)", "years and months duration"),
    ("round half up(x, 2)", "round half up"),
    ("string length (x)", "string length"),      # space before the parenthesis
    ("list replace([1], 1, 2)", "list replace"),
    ("day of week(d)", "day of week"),
    ("count(xs)", "count"),
])
def test_multi_word_function_names(src, name):
    node = parse(src)
    assert isinstance(node, n.Call) and node.name == name
    assert " ".join(src[node.name_span.start:node.name_span.end].split()) == name


def test_multi_word_names_only_before_a_parenthesis():
    # without "(", `date and time` is two fields joined by `and`
    assert shape(parse("date and time")) == "(and date time)"
    assert shape(parse("string length(x) > 3")) == "(> ('string length' x) 3)"


def test_call_arguments():
    node = parse("f()")
    assert isinstance(node, n.Call) and node.args == ()
    node = parse('substring("abc", 2, 1)')
    assert [a.value for a in node.args] == ["abc", Decimal(2), Decimal(1)]


def test_properties_with_spaces():
    node = parse("d.time offset")
    assert isinstance(node, n.Path) and node.name == "time offset"
    assert parse("[1..10).start included").name == "start included"


# -- unary tests, ranges, lists --------------------------------------------------------------------------

@pytest.mark.parametrize("src, expected", [
    ("x in < 10", "(in x (<_ 10))"),
    ("x in >= y + 1", "(in x (>=_ (+ y 1)))"),
    ('x in ("gold", "platinum")', "(in x (tests 'gold' 'platinum'))"),
    ("x in (< 10, > 100)", "(in x (tests (<_ 10) (>_ 100)))"),
    ("x in (< 10)", "(in x (tests (<_ 10)))"),
    ("x in ([1..2], > 5, 7)", "(in x (tests [1..2] (>_ 5) 7))"),
    ('x in ["a", "b"]', "(in x ['a', 'b'])"),     # a list: membership
    ("x in [1..10]", "(in x [1..10])"),
    ("x in y", "(in x y)"),
    ("x in null", "(in x null)"),
])
def test_unary_tests_after_in(src, expected):
    assert shape(parse(src)) == expected


@pytest.mark.parametrize("src, incl", [
    ("[1..10]", (True, True)),
    ("[1..10)", (True, False)),
    ("(1..10]", (False, True)),
    ("(1..10)", (False, False)),
    ("]1..10]", (False, True)),
    ("]1..10)", (False, False)),
    ("[1..10[", (True, False)),       # FEEL's reversed bracket
    ("]1..10[", (False, False)),
])
def test_ranges(src, incl):
    node = parse(src)
    assert isinstance(node, n.RangeLit)
    assert (node.start_incl, node.end_incl) == incl
    assert (node.start.value, node.end.value) == (1, 10)
    assert node.span.start == 0 and node.span.end == len(src)


def test_range_endpoints_are_expressions():
    node = parse("[a + 1 .. b.c]")
    assert shape(node) == "[(+ a 1)..b.c]"
    assert shape(parse("[1..10[.start")) == "[1..10).start"


def test_reversed_bracket_does_not_break_lists_and_filters():
    assert shape(parse("[]")) == "[]"
    assert shape(parse("x in []")) == "(in x [])"
    assert shape(parse("[.5]")) == "[0.5]"
    assert shape(parse("[a..b[1]]")) == "[a..b[1]]"   # a filter on the end, closed by ]


def test_empty_lists_nest():
    assert shape(parse("[[]]")) == "[[]]"
    assert shape(parse("[[], [1]]")) == "[[], [1]]"
    assert shape(parse("f([])")) == "('f' [])"
    assert shape(parse("[]1..2]]")) == "[(1..2]]"     # a `]`-opened range inside a list


def test_keywords_are_not_names():
    for src, col in [("and", 1), ("x and and y", 7), ("x in in", 6), ("then + 1", 1), ("for for in xs return 1", 5)]:
        d = diag(src)
        assert (d.code, d.col) == ("E-SYNTAX", col), d.render()
        assert "unexpected '" in d.message
    # ... except as a field after "."
    assert shape(parse("order.return + x.in")) == "(+ order.return x.in)"
    # and names that merely start with a keyword are names
    assert shape(parse("android and iffy or nullable")) == "(or (and android iffy) nullable)"


def test_lists_and_contexts():
    node = parse('[1, "a", [true], {k: 1, "with space": null}]')
    assert isinstance(node, n.ListLit) and len(node.items) == 4
    ctx = node.items[3]
    assert isinstance(ctx, n.ContextLit)
    assert [k for k, _ in ctx.entries] == ["k", "with space"]
    assert parse("{}").entries == ()


def test_loops_and_quantifiers():
    node = parse("for a in xs, b in a.ys return a + b")
    assert isinstance(node, n.For)
    assert [it.var for it in node.iterations] == ["a", "b"]
    assert shape(node.iterations[1].source) == "a.ys" and shape(node.body) == "(+ a b)"
    q = parse("some x in xs satisfies x > 1")
    assert isinstance(q, n.Quantified) and q.kind == "some"
    q = parse("every x in xs, y in ys satisfies x < y")
    assert q.kind == "every" and len(q.iterations) == 2
    r = parse("for i in 1..n return i")                # FEEL's numeric iteration
    assert isinstance(r.iterations[0].source, n.RangeLit) and shape(r.iterations[0].source) == "[1..n]"


def test_filter_and_index():
    node = parse("orders[item.amount > 100]")
    assert isinstance(node, n.Filter) and shape(node.cond) == "(> item.amount 100)"
    assert isinstance(parse("xs[-1]").cond, n.Number)


def test_long_flat_sequences_parse():
    node = parse("[" + ", ".join(["1"] * 5000) + "]")
    assert len(node.items) == 5000
    node = parse(" or ".join(f"x{i}" for i in range(2000)))   # flattened: not too deep
    assert isinstance(node, n.Or) and len(node.items) == 2000


# -- limits -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("src", [
    "(" * 5000 + "1" + ")" * 5000,
    "-" * 5000 + "1",
    "- " * 150 + "x",
    "not(" * 150 + "x" + ")" * 150,
    "[" * 150 + "]" * 150,
    "{a: " * 150 + "1" + "}" * 150,
    "x" + ".y" * 150,
    "x" + "[1]" * 150,
    "1" + " + 1" * 150,
    "if a then " * 150 + "1" + " else 2" * 150,
])
def test_deep_nesting_is_a_diagnostic(src):
    d = diag(src)
    assert d.code == "E-TOO-DEEP", d.render()
    assert f"deeper than {MAX_DEPTH}" in d.message


def test_nesting_just_within_the_limit_parses():
    assert parse("(" * 90 + "1" + ")" * 90).value == 1
    assert isinstance(parse("not(" * 40 + "x" + ")" * 40), n.Call)


def test_deep_nesting_is_rejected_fast():
    start = time.perf_counter()
    d = diag("(" * (MAX_LENGTH - 10))
    assert d.code == "E-TOO-DEEP"
    assert time.perf_counter() - start < 2


def test_one_megabyte_is_too_long_and_quick():
    src = "1 + " * 250_000 + "1"
    start = time.perf_counter()
    d = diag(src)
    assert time.perf_counter() - start < 3
    assert d.code == "E-TOO-LONG" and (d.line, d.col) == (1, 1)
    assert f"{MAX_LENGTH:,}" in d.message
    assert len(d.render()) < 1000     # the rendered line is a window, not the megabyte


# -- syntax errors ------------------------------------------------------------------------------------

def test_syntax_error_position_and_message():
    d = diag("x + * 2")
    assert (d.code, d.line, d.col, d.end_col) == ("E-SYNTAX", 1, 5, 6)
    assert d.message == "unexpected '*': expected an expression"
    assert d.render() == ("<expr>:1:5: error[E-SYNTAX]: unexpected '*': expected an expression\n"
                          "    1 | x + * 2\n"
                          "      |     ^")


def test_syntax_error_on_a_later_line_of_a_multi_line_expression():
    src = 'customer.tier = "gold"\n  and customer.age >=\n      * 18'
    d = diag(src)
    assert (d.line, d.col) == (3, 7)
    assert d.source_line == "      * 18"
    assert d.render().splitlines()[1:] == ["    3 |       * 18", "      |       ^"]


def test_syntax_error_multi_line_unexpected_name():
    d = diag("if x\nthen 1\nels 2")
    assert (d.line, d.col, d.end_col) == (3, 1, 4)
    assert "unexpected 'els'" in d.message and "'else'" in d.message


@pytest.mark.parametrize("src, col, fragment", [
    ("", 1, "empty expression"),
    ("   ", 1, "empty expression"),
    ("1 +", 3, "unexpected end of expression: expected an expression"),
    ("if x then 1", 11, "expected 'else'"),
    ('"abc', 1, "unterminated string"),
    ("a /* note", 3, "unterminated comment"),
    ("a & b", 3, "unexpected character '&'"),
    ("'gold'", 1, "strings use double quotes"),
    ("x == 1", 4, "equality is a single '='"),
    ("a AND b", 3, "operators are lower case"),
    ("f(1,)", 5, "unexpected ')'"),
    ("{a: 1,}", 7, "unexpected '}'"),
    ("x.", 2, "expected a name"),
])
def test_syntax_error_messages(src, col, fragment):
    d = diag(src)
    assert d.code == "E-SYNTAX" and d.line == 1 and d.col == col, d.render()
    assert fragment in d.message, d.message


def test_unary_test_is_only_a_syntax_after_in():
    # `< 10` alone is not an expression (the checker handles `(< 10)`)
    assert diag("< 10").code == "E-SYNTAX"


def test_error_positions_in_an_embedded_expression():
    """An expression inside a file maps positions back to the file (offset map)."""
    from rules_engine.diagnostics import SourceFile
    file_text = "rules:\n  when: >\n    a +\n    * b\n"
    expr = "a +\n* b"
    starts = [file_text.index("a +"), file_text.index("* b")]
    offsets = [starts[0] + i for i in range(4)] + [starts[1] + i for i in range(4)]
    src = ExprSource(expr, SourceFile("r.yaml", file_text), tuple(offsets))
    with pytest.raises(CompileError) as e:
        parse(src)
    d = e.value.diagnostics[0]
    assert (d.file, d.line, d.col) == ("r.yaml", 4, 5)


def test_grammar_is_read_from_the_package():
    text = grammar_text()
    assert "FUNC_MULTI" in text and "?start" in text


# -- the driver runs Lark's tables: it must build exactly what Lark's own parser builds -------------

def _corpus():
    """Expression texts from the TCK cases, the expression and built-in tables, the golden
    diagnostics and the example rulesets: valid and invalid, every construct of the grammar."""
    import json
    from pathlib import Path

    import test_builtins
    import test_expressions
    import test_golden_diagnostics
    from rules_engine.loader import YScalar, load_yaml
    texts = [json.loads(line)["expression"] for line in
             (Path(__file__).parent / "data" / "feel-core.jsonl").read_text().splitlines() if line.strip()]
    for table in (test_expressions.CASES, test_builtins.CASES):
        texts += [c[0] for c in table if isinstance(c, tuple) and isinstance(c[0], str)]
    texts += [c if isinstance(c, str) else c[0] for c in test_golden_diagnostics.CASES.values()]
    for path in sorted((Path(__file__).parent.parent / "rulesets").rglob("*.yaml")):
        stack = [load_yaml(path.read_text(), str(path))]
        while stack:
            node = stack.pop()
            if isinstance(node, YScalar):
                if isinstance(node.value, str):
                    texts.append(node.value)
            else:
                stack.extend(getattr(node, "items", None) or getattr(node, "values", lambda: [])()
                             if not isinstance(getattr(node, "items", None), list) else node.items)
    texts += ["]1..2]", "[1..2[", "(1..2]", "x[item > 1]", "a.time offset", "{a: 1, \"b c\": 2}.a",
              "some x in [1] satisfies x > 0", "for i in 1..3, j in [1] return i", "-(-1)", "@\"2026-01-01\"",
              "1 /* c */ + // d\n 2", "string length(\"x\")", "x in (< 1, > 2)", "a and b or not(c)", "",
              "1 +", "(1", "\"open", "a ** -b ** c", "if a then b else c", "x between 1 and 2", "[[]]"]
    from rules_engine.parser import _nesting_precheck
    return sorted(t for t in set(texts) if len(t) < 5000 and _nesting_precheck(t) is None)


def test_the_driver_builds_what_lark_builds():
    from lark.exceptions import UnexpectedInput

    from rules_engine.parser import _driver, _lark
    corpus = _corpus()
    assert len(corpus) > 1500
    rejected = 0
    for text in corpus:
        mine = _driver().parse(text)[0]
        try:
            theirs = _lark().parse(text)
        except UnexpectedInput:
            assert mine is None, text
            rejected += 1
            continue
        assert repr(mine) == repr(theirs), text
    assert rejected > 10  # invalid texts were in the corpus too


def test_the_driver_lexes_with_larks_own_patterns():
    """The driver builds each state's alternation itself (not compiling Lark's copy): it must be
    the pattern Lark's contextual lexer compiles for that state, after the skip prefix."""
    from rules_engine.parser import _driver, _lark
    lexers = _lark().parser.lexer.lexers
    assert len(lexers) > 50
    for state, basic in lexers.items():
        (lark_re,) = basic.scanner._mres
        assert not basic.callback
        mine = _driver().lexers[state].__self__
        assert mine.pattern.endswith("(?:" + lark_re.pattern + ")") and mine.flags == lark_re.flags, state


def test_parsed_trees_are_remembered_by_text_and_bounded(monkeypatch):
    from rules_engine import parser as P
    a = P.parse("customer.age > 30 and customer.tier = \"gold\"")
    assert P.parse("customer.age > 30 and customer.tier = \"gold\"") is a  # immutable: shared
    monkeypatch.setattr(P, "_PARSED", {})
    monkeypatch.setattr(P, "_PARSED_CHARS", [0])
    monkeypatch.setattr(P, "MAX_REMEMBERED_CHARS", 40)
    texts = [f"x + {i:010d}" for i in range(8)]   # 14 characters each: only the last few fit
    for t in texts:
        P.parse(t)
    assert texts[-1] in P._PARSED and texts[0] not in P._PARSED
    assert P._PARSED_CHARS[0] <= P.MAX_REMEMBERED_CHARS
    assert P._PARSED_CHARS[0] == sum(map(len, P._PARSED))
    with pytest.raises(CompileError):  # failures are never remembered
        P.parse("1 +")
    assert "1 +" not in P._PARSED


def test_rules_with_the_same_condition_text_share_a_tree_and_decide_alike():
    import datetime as dt

    import rules_engine
    rules = "".join(f"""
  - id: r{i}
    priority: {i}
    when: customer.age > 30 and (customer.vip or customer.name = null)
    then: [{{action: a{i}, params: {{n: '=customer.age + {i}'}}}}]
""" for i in range(3))
    text = "ruleset: s\ncontext:\n  customer: {age: number, vip: boolean?, name: string?}\nrules:" + rules
    rs = rules_engine.compile_ruleset_text(text, filename="s.yaml")
    whens = [r.plan.when.node for r in rs.rules]
    assert whens[0] is whens[1] is whens[2]
    as_of = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
    for ctx in ({"customer": {"age": 40, "vip": None, "name": None}},
                {"customer": {"age": 40, "vip": False, "name": "x"}}, {"customer": {"age": 20}}):
        fast, slow = rs.decide(ctx, as_of=as_of), rs.decide(ctx, as_of=as_of, explain=True)
        assert [a.to_dict() for a in fast.actions] == [a.to_dict() for a in slow.actions]
        assert fast.matched_rules == slow.matched_rules
    assert [a.params["n"] for a in rs.decide({"customer": {"age": 40}}, as_of=as_of).actions] == [42, 41, 40]
