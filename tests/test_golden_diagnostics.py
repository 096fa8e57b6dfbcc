"""Rendered diagnostics of bad expressions, compared with golden files tests/golden/expr_*.txt.

Each golden file holds the expression (lines prefixed with `> `) and the diagnostics exactly as
`Diagnostic.render()` prints them: `file:line:col: severity[CODE]: message`, the source line and
a caret under the offending text. To accept new output after a deliberate change:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_diagnostics.py
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from rules_engine import compile_expression
from rules_engine.diagnostics import CompileError

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

SCHEMA = {
    "customer": {"tier": "enum(gold, silver, bronze)", "age": "number", "name": "string", "vip": "boolean",
                 "since": "date", "purchases": "list({amount: number, at: date})"},
    "tags": "list(string)",
}

# name -> (expression, schema or None)
CASES = {
    "syntax_unexpected_token": ("customer.age >= 18 and and customer.vip", SCHEMA),
    "syntax_multiline": ('customer.tier = "gold"\n  and customer.age >=\n      * 18', SCHEMA),
    "syntax_missing_else": ('if customer.vip\nthen "gold"', SCHEMA),
    "syntax_unterminated_string": ('customer.name = "Ann\n  and customer.vip', SCHEMA),
    "syntax_unterminated_comment": ("customer.vip /* forgot to close\n  and customer.age > 18", SCHEMA),
    "syntax_double_equals": ("customer.age == 18", SCHEMA),
    "syntax_uppercase_and": ("customer.vip AND customer.age > 18", SCHEMA),
    "syntax_tab_indented": ("customer.vip\n\tand\t* 2", SCHEMA),
    "unknown_field": ('customer.teir = "gold"', SCHEMA),
    "unknown_field_in_filter": ("count(customer.purchases[amont > 100]) > 0", SCHEMA),
    "unknown_function": ("cout(tags) > 1", SCHEMA),
    "unknown_multi_word_function": ("strin length(customer.name) > 3", SCHEMA),
    "enum_literal": ('customer.tier in ("gold", "platnum")\n  or customer.tier = "silvr"', SCHEMA),
    "type_errors_multiline": ('customer.age > "18"\n  and customer.name\n  and string length(customer.age) > 2\n'
                              "  and modulo(customer.age)", SCHEMA),
    "dynamic_warning": ('x > 1 and "a" > 1', None),
    "too_deep": ("customer.vip and " + "not(" * 120 + "true" + ")" * 120, SCHEMA),
    "too_long": ("1 + " * 250_000 + "1", None),
}


def render(text: str, schema) -> str:
    """The golden text: the expression, then every diagnostic rendered."""
    shown = text if len(text) <= 2000 else f"({len(text):,} characters: {text[:40]}...)"
    head = "".join(f"> {line}\n" for line in shown.split("\n"))
    try:
        expr = compile_expression(text, schema)
        diags = expr.warnings
    except CompileError as e:
        diags = e.diagnostics
    body = "\n".join(d.render() for d in diags) if diags else "(no diagnostics)"
    return f"# schema: {'yes' if schema else 'none'}\n{head}# diagnostics\n{body}\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name):
    path = GOLDEN / f"expr_{name}.txt"
    actual = render(*CASES[name])
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to create it"
    assert actual == path.read_text(encoding="utf-8")


def test_no_stale_golden_files():
    stale = sorted(p.name for p in GOLDEN.glob("expr_*.txt") if p.stem[len("expr_"):] not in CASES)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        return
    assert stale == [], "golden files without a case (UPDATE_GOLDEN=1 removes them)"


def test_multi_line_error_column_is_right():
    """The error on line 3 is reported at that line's column, and the caret sits under it."""
    text = CASES["syntax_multiline"][0]
    with pytest.raises(CompileError) as e:
        compile_expression(text, SCHEMA)
    (d,) = e.value.diagnostics
    line3 = text.split("\n")[2]
    assert (d.line, d.col) == (3, line3.index("*") + 1) == (3, 7)
    out = d.render().splitlines()
    assert out[0] == "<expr>:3:7: error[E-SYNTAX]: unexpected '*': expected an expression"
    assert out[1] == "    3 |       * 18"
    assert out[2].index("^") == out[1].index("*")


def test_multi_line_type_errors_columns_are_right():
    text = CASES["type_errors_multiline"][0]
    with pytest.raises(CompileError) as e:
        compile_expression(text, SCHEMA)
    lines = text.split("\n")
    got = [(d.line, d.col, d.end_col, d.code) for d in e.value.diagnostics]
    assert got == [
        (1, 1, len(lines[0]) + 1, "E-TYPE"),                                   # customer.age > "18"
        (2, lines[1].index("customer") + 1, len(lines[1]) + 1, "E-TYPE"),     # customer.name is no boolean
        (3, lines[2].index("customer") + 1, lines[2].index(")") + 1, "E-ARGS"),
        (4, lines[3].index("modulo") + 1, len(lines[3]) + 1, "E-ARGS"),
    ]
    for d in e.value.diagnostics:   # every caret is under its line's text
        src_line, caret = d.render().splitlines()[1:3]
        start = caret.index("^")
        assert src_line[start:start + caret.count("^")] == lines[d.line - 1][d.col - 1:d.end_col - 1]


def test_caret_under_a_tab_indented_line():
    text = CASES["syntax_tab_indented"][0]
    with pytest.raises(CompileError) as e:
        compile_expression(text, SCHEMA)
    (d,) = e.value.diagnostics
    assert (d.line, d.col) == (2, 6)       # columns count characters; a tab is one
    src_line, caret = d.render().splitlines()[1:3]
    assert src_line[caret.index("^")] == "*"
