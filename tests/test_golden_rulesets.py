"""Golden files: the exact `rules check` text output for broken rulesets.

Each `tests/golden/rulesets/bad_*.yaml` is checked on its own, from inside that folder (so the paths
in the output are bare file names), and its stdout is compared with the `.txt` file of the same
name. After an intended change of wording, regenerate with:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_rulesets.py

and review the diff of the .txt files.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from rules_engine import cli

GOLDEN = Path(__file__).parent / "golden" / "rulesets"
CASES = sorted(p.name for p in GOLDEN.glob("bad_*.yaml"))
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def run_check(capsys, monkeypatch, *args: str) -> tuple[int, str, str]:
    monkeypatch.chdir(GOLDEN)
    code = cli.main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_there_are_golden_cases():
    assert len(CASES) >= 12
    if not UPDATE:
        missing = [c for c in CASES if not (GOLDEN / c).with_suffix(".txt").exists()]
        assert missing == [], "run with UPDATE_GOLDEN=1 to create them"


@pytest.mark.parametrize("name", CASES)
def test_rules_check_text_output(name, capsys, monkeypatch):
    code, out, err = run_check(capsys, monkeypatch, name)
    expected_file = (GOLDEN / name).with_suffix(".txt")
    if UPDATE:
        expected_file.write_text(out, encoding="utf-8")
    expected = expected_file.read_text(encoding="utf-8")
    assert out == expected
    errors = len(re.findall(r"^\S+:\d+:\d+: error\[", out, re.M))
    warnings = len(re.findall(r"^\S+:\d+:\d+: warning\[", out, re.M))
    assert errors + warnings >= 1
    assert code == (1 if errors else 0)
    # the closing count goes to stderr, so stdout stays machine-readable
    assert err.strip() == f"{errors} error(s), {warnings} warning(s) in 1 ruleset file(s)"
    assert "Traceback" not in out + err


@pytest.mark.parametrize("name", CASES)
def test_every_diagnostic_points_into_the_file(name, capsys, monkeypatch):
    """Each head line is `file:line:col: severity[CODE]: message`, followed by that very line of the file."""
    _, out, _ = run_check(capsys, monkeypatch, name)
    lines = (GOLDEN / name).read_text(encoding="utf-8").split("\n")
    heads = list(re.finditer(r"^(\S+):(\d+):(\d+): (error|warning)\[([A-Z]+(?:-[A-Z0-9]+)+)\]: (.+)$", out, re.M))
    assert heads
    for m in heads:
        assert m.group(1) == name
        line, col = int(m.group(2)), int(m.group(3))
        assert 1 <= line <= len(lines) and col >= 1
        source = f"{line:>5} | {lines[line - 1].expandtabs(1)}"
        if lines[line - 1]:
            assert source in out


def test_golden_output_is_sorted_by_position(capsys, monkeypatch):
    for name in CASES:
        _, out, _ = run_check(capsys, monkeypatch, name)
        positions = [(int(a), int(b)) for a, b in re.findall(r"^\S+:(\d+):(\d+): ", out, re.M)]
        assert positions == sorted(positions), name


def test_the_folded_scalar_case_reads_as_documented(capsys, monkeypatch):
    _, out, _ = run_check(capsys, monkeypatch, "bad_folded_field.yaml")
    assert out == (
        "bad_folded_field.yaml:11:11: error[E-UNKNOWN-FIELD]: unknown field 'customer.teir' "
        "(did you mean 'customer.tier'?)\n"
        '   11 |       and customer.teir = "gold"\n'
        "      |           ^^^^^^^^^^^^^\n")


def test_checking_all_golden_files_at_once_reports_every_file(capsys, monkeypatch):
    """One ruleset's errors never hide another's: the whole folder gives the concatenation."""
    code, out, _ = run_check(capsys, monkeypatch, ".")
    assert code == 1
    expected = "".join((GOLDEN / c).with_suffix(".txt").read_text(encoding="utf-8") for c in CASES)
    assert out == expected
