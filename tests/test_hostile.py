"""Hostile input never crashes, hangs, prints a traceback or runs code.

Every expression here either compiles and evaluates to a plain FEEL value, or is refused with a
CompileError carrying diagnostics. The generated Python (`Expression.source`) is inspected: rule
text reaches it only inside string literals, and it calls nothing but our runtime.
"""
from __future__ import annotations

import ast
import datetime as dt
import re
import time
import tokenize
from decimal import Decimal
from io import StringIO

import pytest

from rules_engine import ContextError, compile_expression
from rules_engine import runtime as rt
from rules_engine.codegen import MAX_LOOP_STEPS, RUNTIME_NAMES
from rules_engine.diagnostics import CompileError
from rules_engine.parser import MAX_LENGTH

PLAIN = (type(None), bool, str, Decimal, list, dict, dt.date, dt.time, dt.timedelta, rt.YearsMonths, rt.Range)


def is_plain(v) -> bool:
    if isinstance(v, list):
        return all(is_plain(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and is_plain(x) for k, x in v.items())
    return isinstance(v, PLAIN)


def compile_or_refuse(text, schema=None):
    """The Expression, or None when refused with diagnostics (never another exception)."""
    try:
        return compile_expression(text, schema)
    except CompileError as e:
        assert e.diagnostics, "a CompileError always carries diagnostics"
        for d in e.diagnostics:
            assert d.code.startswith("E-") and d.line >= 1 and d.col >= 1
            assert "Traceback" not in d.render()
        return None


def run(text, variables=None, schema=None, limit=10.0):
    start = time.perf_counter()
    expr = compile_or_refuse(text, schema)
    value = None
    if expr is not None:
        value, warnings = expr.evaluate_with_warnings(variables or {})
        assert is_plain(value), repr(value)
        assert all(isinstance(w, str) and "Traceback" not in w for w in warnings)
        assert_safe_source(expr.source)
    assert time.perf_counter() - start < limit, f"{text[:60]!r} took too long"
    return expr, value


# -- the generated code -----------------------------------------------------------------------------

_LOCAL = re.compile(r"^(_s|_v|K\d+|_t\d+|_i\d+|_c\d+|L_[A-Za-z0-9_]+_\d+)$")
_ALLOWED_NAMES = set(RUNTIME_NAMES) | {"expr", "True", "False", "None"}
_ALLOWED_ATTRS = {name for name in dir(rt) if not name.startswith("__")} | {"get"}


def assert_safe_source(source: str) -> None:
    """The generated module: one `def`, names only from our runtime or generated locals,
    attributes only of the runtime module (and dict.get), no imports, no dunder access."""
    tree = ast.parse(source)
    assert [type(n).__name__ for n in tree.body] == ["FunctionDef"] * len(tree.body)
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.ClassDef,
                                     ast.Delete, ast.With, ast.Try, ast.Raise)), ast.dump(node)
        if isinstance(node, ast.Name):
            assert node.id in _ALLOWED_NAMES or _LOCAL.match(node.id), f"unexpected name {node.id!r}\n{source}"
        if isinstance(node, ast.Attribute):
            assert node.attr in _ALLOWED_ATTRS, f"unexpected attribute {node.attr!r}\n{source}"
            assert not node.attr.startswith("__")
        if isinstance(node, ast.arg):
            assert _LOCAL.match(node.arg), node.arg


def assert_text_only_in_strings(source: str, marker: str) -> None:
    """`marker` (from rule text) appears in the generated source only inside string literals or the
    ascii()-escaped comment line."""
    for tok in tokenize.generate_tokens(StringIO(source).readline):
        if marker in tok.string:
            assert tok.type in (tokenize.STRING, tokenize.COMMENT), (tokenize.tok_name[tok.type], tok.string)
            if tok.type == tokenize.COMMENT:
                assert "\n" not in tok.string


# -- deep nesting ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "(" * 10_000 + "1" + ")" * 10_000,
    "(" * 90_000,
    "-" * 50_000 + "1",
    "- " * 200 + "1",
    "not(" * 5_000 + "true" + ")" * 5_000,
    "[" * 20_000 + "]" * 20_000,
    "{a: " * 2_000 + "1" + "}" * 2_000,
    "x" + ".y" * 10_000,
    "x" + "[1]" * 10_000,
    "1" + " + 1" * 10_000,
    "if a then " * 2_000 + "1" + " else 2" * 2_000,
    "for x in " * 2_000 + "[1]" + " return x" * 2_000,
    "-(" * 3_000 + "1" + ")" * 3_000,
])
def test_deep_nesting_is_a_diagnostic(text):
    start = time.perf_counter()
    with pytest.raises(CompileError) as e:
        compile_expression(text)
    assert [d.code for d in e.value.diagnostics] == ["E-TOO-DEEP"]
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("text", [
    "(" * 95 + "x" + ")" * 95,
    "- " * 98 + "x",
    "not(" * 98 + "x" + ")" * 98,
    "[" * 98 + "]" * 98,
    "[" * 98 + "1" + "]" * 98,
    "{a: " * 49 + "1" + "}" * 49,
    "x" + ".y" * 98,
    "x" + "[1]" * 98,
    "x" + " + 1" * 98,
    "abs(" * 98 + "x" + ")" * 98,
    "if a then (" * 48 + "1" + ") else 2" * 48,
    "(a and " * 49 + "b" + ")" * 49,
    "(" * 33 + "x" + " = 1)" * 33,
    "xs" + "[item > 1]" * 98,
    "for a in " * 49 + "xs" + " return a" * 49,
    "some a in " * 49 + "xs" + " satisfies a" * 49,
    "[" * 45 + "{a: 1}" + "][item.a = 1]" * 45,
    "{a: " * 33 + "x" + "}.a" * 33,
])
def test_nesting_within_the_limit_compiles_and_runs(text):
    """Everything the parser accepts also compiles: the depth limit keeps generated Python within
    CPython's own limits (parentheses, recursion)."""
    expr = compile_expression(text)
    value = expr.evaluate({"x": 1, "a": True, "b": True, "xs": [1, 2]})
    assert is_plain(value)
    assert_safe_source(expr.source)


@pytest.mark.parametrize("text", [
    " and ".join(["x > 1"] * 3_000),
    " or ".join([f"x{i}" for i in range(3_000)]),
    "xs[" + " or ".join(["item > 1"] * 2_000) + "]",
    "x in (" + ", ".join(str(i) for i in range(3_000)) + ")",
    "[" + ", ".join(["1"] * 10_000) + "]",
    "{" + ", ".join(f"a{i}: {i}" for i in range(3_000)) + "}",
])
def test_long_flat_expressions(text):
    run(text, {"x": 1, "xs": [1, 2]}, limit=30)


def test_deeply_nested_input_is_a_context_error():
    value: list = []
    for _ in range(5_000):
        value = [value]
    with pytest.raises(ContextError):
        compile_expression("x").evaluate({"x": value})


# -- size ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "1 + " * 250_000 + "1",
    '"' + "a" * 1_000_000 + '"',
    "// " + "x" * 1_000_000 + "\n1",
    "x" * 1_000_000,
    "[" + "1," * 500_000 + "1]",
])
def test_one_megabyte_expressions_are_refused_quickly(text):
    start = time.perf_counter()
    with pytest.raises(CompileError) as e:
        compile_expression(text)
    assert [d.code for d in e.value.diagnostics] == ["E-TOO-LONG"]
    assert f"{MAX_LENGTH:,}" in e.value.diagnostics[0].message
    assert len(str(e.value)) < 2_000
    assert time.perf_counter() - start < 3


def test_long_string_within_the_limit():
    _, value = run('string length("' + "a" * (MAX_LENGTH - 100) + '")')
    assert value == MAX_LENGTH - 100


@pytest.mark.parametrize("text", [
    '"' + '\\"' * 40_000,                 # unterminated, full of escaped quotes
    "/*" + "*" * 90_000,                  # unterminated comment
    '"\\' * 40_000,
    "]" * 90_000,
    "[" + " " * 90_000 + "x",
    "upper" + " " * 90_000 + "case(x)",
    "a." * 40_000,
])
def test_pathological_text_is_fast(text):
    start = time.perf_counter()
    compile_or_refuse(text)
    assert time.perf_counter() - start < 10


# -- regular expressions ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ('matches("' + "a" * 30_000 + 'b", "(a+)+$")', False),
    ('matches(s, "(a+)+$")', False),
    ('matches(s, "(a|aa)+$")', False),
    ('matches(s, "(.*a){12}$")', False),
    ('replace(s, "(a+)+$", "x") = s', True),
    ('count(split(s, "(a*)*c"))', Decimal(1)),
])
def test_catastrophic_backtracking_patterns_run_in_linear_time(text, expected):
    start = time.perf_counter()
    _, value = run(text, {"s": "a" * 30_000 + "b"})
    assert value == expected
    assert time.perf_counter() - start < 2


def test_backreferences_are_refused_not_slow():
    _, value = run('matches(s, "(a*)*\\\\1b")', {"s": "a" * 30_000})
    assert value is None


# -- evaluation cost ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "xs" + "[count(xs[item > 0]) > 0]" * 30,                  # filters nested in filter conditions
    "xs[" * 40 + "true" + "]" * 40,
    "for a in 1..1000, b in 1..1000, c in 1..1000 return 1",
    "some a in 1..100000, b in 1..100000 satisfies a + b < 0",
    "count(for a in " * 30 + "xs" + " return a)" * 30,
])
def test_runaway_loops_stop_with_a_warning(text):
    start = time.perf_counter()
    expr = compile_expression(text)
    value, warnings = expr.evaluate_with_warnings({"xs": [1, 2, 3]})
    assert time.perf_counter() - start < 20
    assert is_plain(value)
    if value is None:
        assert any(f"{MAX_LOOP_STEPS:,}" in w for w in warnings)


def test_numbers_too_large_are_null():
    _, value = run("10 ** 100000")
    assert value is None
    _, value = run("9 ** 9 ** 9")
    assert isinstance(value, Decimal)


# -- code injection ----------------------------------------------------------------------------------

INJECTIONS = [
    "\") or __import__('os').system('touch PWNED') or (\"",
    "'); import os; os.system('touch PWNED'); ('",
    "\\\\\") + __import__('os').getcwd() + (\"",
    "{0.__class__.__mro__}",
    "\n__import__('os')\n",
    "\x00\x1b[2J\u2028\u2029 \\u0041",
    "''' \"\"\" # PWNED",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_strings_cannot_inject_code(payload, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    literal = '"' + payload.replace("\\", "\\\\").replace('"', '\\"') + '"'
    for text in (literal, f"x = {literal}", f"{literal} + x", f'contains(x, {literal})', f'[{literal}][1]',
                 f'{{k: {literal}}}.k', f'x in ({literal}, "b")', f'matches(x, {literal})'):
        expr, value = run(text, {"x": "a"})
        assert expr is not None, text
        assert_text_only_in_strings(expr.source, "PWNED") if "PWNED" in payload else None
    expr = compile_expression(literal)
    assert expr.evaluate() == payload            # the string is data: exactly what was written
    assert not (tmp_path / "PWNED").exists()


def test_unescaped_quote_breaks_nothing():
    # a raw quote ends the string: the rest is a syntax error, never code
    assert compile_or_refuse("\"\") or __import__('os').system('x') or (\"\"") is None


@pytest.mark.parametrize("text", [
    "__import__",
    "__import__(\"os\")",
    "__class__",
    "x.__class__",
    "x.__class__.__mro__",
    "x.__dict__",
    "__builtins__",
    "_v",
    "_s.clock",
    "_rt",
    "K0",
    "{__class__: 1}.__class__",
    "for __import__ in [1] return __import__",
    "some _v in [1] satisfies _v = 1",
    "[{_s: 1}][_s = 1]",
    "eval(\"1\")",
    "exec(\"1\")",
    "open(\"/etc/passwd\")",
    "getattr(x, \"__class__\")",
    "x.get",
    "x.items",
])
def test_hostile_names_are_just_names(text):
    expr, value = run(text, {"x": {"a": 1}, "_v": "shadow?", "__class__": "c"})
    if expr is not None:
        assert value is None or isinstance(value, (Decimal, bool, str, list, dict))
        assert not callable(value)


def test_hostile_names_read_the_input_only():
    expr = compile_expression("__class__")
    assert expr.evaluate({"__class__": "data"}) == "data"
    assert expr.evaluate({}) is None
    expr = compile_expression("_v")          # a field named like our own local: still the field
    assert expr.evaluate({"_v": 7}) == 7


@pytest.mark.parametrize("text", [
    "1 /* \n import os */ + 1",
    "1 // \n + 1",
    "1 + /* */ \n// */ import os\n 1",
    "1 /* ''' \"\"\" */ + 1",
])
def test_comments_cannot_inject_code(text):
    expr, value = run(text)
    assert value == 2
    assert "import" not in re.sub(r"#.*", "", expr.source)


def test_generated_comment_is_one_escaped_line():
    expr = compile_expression('1 /* \n\r\u2028 x */ + "\\n" + 1')
    comments = [line for line in expr.source.splitlines() if line.startswith("#")]
    assert len(comments) == 1
    assert all(ch.isascii() and ch.isprintable() for ch in comments[0])


def test_user_text_reaches_the_source_only_as_literals():
    marker = "zq_marker_zq"
    text = (f'{{{marker}: "{marker}"}}.{marker} = "{marker}" and {marker} > 1 '
            f'and ({marker}_list[item.{marker} > 1] = []) and (for {marker} in [1] return {marker}) = [1]')
    expr = compile_expression(text)
    assert expr.evaluate({marker: 2, f"{marker}_list": []}) is True
    assert_safe_source(expr.source)
    for tok in tokenize.generate_tokens(StringIO(expr.source).readline):
        if marker in tok.string and tok.type == tokenize.NAME:
            # a loop variable becomes a prefixed, numbered local: never the bare user name
            assert re.fullmatch(rf"L_{marker}_\d+", tok.string), tok.string
        elif marker in tok.string:
            assert tok.type in (tokenize.STRING, tokenize.COMMENT)


def test_no_traceback_on_any_syntax_error(capsys):
    for text in ["1 +", "((", "}", "@", "\"", "for", "x in", "..", "@\"2020-13-45\"", "\\", "\x00", "1e5"]:
        compile_or_refuse(text)
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err


def test_doubling_strings_and_lists_is_capped_not_exhausting_memory():
    import time
    import rules_engine
    entries = ", ".join(['a0: "xx"'] + [f"a{i}: a{i - 1} + a{i - 1}" for i in range(1, 40)])
    started = time.monotonic()
    value, warnings = rules_engine.compile_expression("{" + entries + "}.a39").evaluate_with_warnings({})
    assert value is None
    assert any("result too large" in w for w in warnings)
    lists = ", ".join(["l0: [1, 2]"] + [f"l{i}: concatenate(l{i - 1}, l{i - 1})" for i in range(1, 40)])
    value, warnings = rules_engine.compile_expression("{" + lists + "}.l39").evaluate_with_warnings({})
    assert value is None and any("result too large" in w for w in warnings)
    assert time.monotonic() - started < 20


def test_warnings_are_capped():
    import rules_engine
    value, warnings = rules_engine.compile_expression(
        "for i in 1..1000 return 1 / 0").evaluate_with_warnings({})
    assert len(value) == 1000 and all(v is None for v in value)
    assert len(warnings) == 101 and "more than 100 warnings" in warnings[-1]
