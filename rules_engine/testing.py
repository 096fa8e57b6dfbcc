"""Ruleset test files (`NAME.test.yaml`): one runner for `rules test` and for pytest."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from .decision import Decision, Ruleset
from .diagnostics import CompileError, Diagnostic, suggest
from .directory import load_directory
from .loader import YMap, YSeq, load_yaml
from .schema import ContextError

FILE_KEYS = {"ruleset", "as_of", "cases"}
CASE_KEYS = {"name", "as_of", "context", "expect"}
EXPECT_KEYS = {"actions", "includes", "excludes", "rules", "not_rules", "params", "suppressed", "fallback", "error"}


@dataclass
class CaseResult:
    file: str
    name: str
    line: int
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


@dataclass
class TestReport:
    cases: list[CaseResult] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)       # files that could not be read or run
    coverage: dict[str, dict[str, int]] = field(default_factory=dict)  # ruleset -> rule id -> cases matched

    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed

    def coverage_percent(self) -> float:
        total = sum(len(rules) for rules in self.coverage.values())
        hit = sum(1 for rules in self.coverage.values() for n in rules.values() if n)
        return 100.0 * hit / total if total else 100.0


def test_files(paths) -> list[Path]:
    out = []
    for p in map(Path, paths):
        if p.is_file():
            out.append(p if p.name.endswith((".test.yaml", ".test.yml")) else
                       p.with_name(p.name.rsplit(".", 1)[0] + ".test.yaml"))
        elif p.is_dir():
            out += sorted(list(p.rglob("*.test.yaml")) + list(p.rglob("*.test.yml")))
    return [p for p in out if p.is_file()]


def run_tests(paths) -> TestReport:
    """Run every test file under `paths` against the rulesets found there."""
    report = TestReport()
    engines: dict[str, Ruleset] = {}
    for p in map(Path, paths):
        eng = load_directory(p)
        for diags in eng.errors.values():
            report.errors.extend(diags)
        engines.update(eng.rulesets)
    for rs in engines.values():
        report.coverage[rs.name] = {r.id: 0 for r in rs.rules}
    for f in test_files(paths):
        _run_file(f, engines, report)
    return report


def _run_file(path: Path, rulesets: dict[str, Ruleset], report: TestReport) -> None:
    try:
        root = load_yaml(path.read_text(encoding="utf-8"), str(path))
    except CompileError as e:
        report.errors.extend(e.diagnostics)
        return
    if not isinstance(root, YMap):
        report.errors.append(Diagnostic(str(path), 1, 1, "E-BAD-VALUE", "a test file must be a mapping"))
        return
    bad = _unknown(root, FILE_KEYS, "the test file")
    name_node = root.get("ruleset")
    if name_node is None:
        bad.append(root.diagnostic("E-MISSING-KEY", "a test file needs 'ruleset' (the name of the ruleset it tests)"))
    elif name_node.to_python() not in rulesets:
        name = str(name_node.to_python())
        best = suggest(name, rulesets)
        bad.append(name_node.diagnostic("E-UNKNOWN-RULESET", f"no ruleset named '{name}' was loaded"
                                                              + (f" (did you mean '{best}'?)" if best else "")))
    cases = root.get("cases")
    if not isinstance(cases, YSeq):
        bad.append((cases or root).diagnostic("E-MISSING-KEY", "a test file needs 'cases', a list of cases"))
    if bad:
        report.errors.extend(bad)
        return
    rs = rulesets[name_node.to_python()]
    default_as_of, bad_clock = _clock_of(root.get("as_of"))
    if bad_clock:
        report.errors.append(bad_clock)
        return
    for i, case in enumerate(cases.items):
        line = case.file.line_col(case.start)[0]
        if not isinstance(case, YMap):
            report.errors.append(case.diagnostic("E-BAD-VALUE", "a case must be a mapping"))
            continue
        errs = _unknown(case, CASE_KEYS, "a case")
        exp = case.get("expect")
        if isinstance(exp, YMap):
            errs += _unknown(exp, EXPECT_KEYS, "expect")
        if errs:
            report.errors.extend(errs)
            continue
        name = str(case.get("name").to_python()) if case.get("name") is not None else f"case {i + 1}"
        result = CaseResult(str(path), name, line)
        as_of, bad_clock = _clock_of(case.get("as_of"))
        if bad_clock:
            report.errors.append(bad_clock)
            continue
        as_of = as_of or default_as_of
        context = case.get("context").to_python() if case.get("context") is not None else {}
        expect = exp.to_python() if exp is not None else {}
        try:
            decision = rs.decide(context, as_of=as_of)
        except ContextError as e:
            if expect.get("error") and str(expect["error"]) in str(e):
                report.cases.append(result)
                continue
            result.problems.append(f"the context breaks the schema: {e}")
            report.cases.append(result)
            continue
        if expect.get("error"):
            result.problems.append(f"expected a context error mentioning {expect['error']!r}, but the decision succeeded")
        for rid in decision.matched_rules:
            report.coverage[rs.name][rid] = report.coverage[rs.name].get(rid, 0) + 1
        result.problems += compare(expect, decision)
        report.cases.append(result)


def _clock_of(node):
    """A test clock: an ISO date-time with an offset, like every date-time in a context."""
    if node is None:
        return None, None
    from .runtime import FeelError, parse_datetime
    try:
        value = parse_datetime(str(node.to_python()))
    except FeelError:
        value = None
    if value is None or value.tzinfo is None:
        return None, node.diagnostic("E-BAD-VALUE", "as_of must be a date-time with an offset, "
                                                    "e.g. 2026-11-22T10:00:00Z")
    return value, None


def _unknown(m: YMap, allowed, where: str) -> list[Diagnostic]:
    out = []
    for k, _ in m.items:
        if k.text not in allowed:
            best = suggest(k.text, allowed)
            out.append(k.diagnostic("E-UNKNOWN-KEY", f"unknown key '{k.text}' in {where}"
                                                     + (f" (did you mean '{best}'?)" if best else
                                                        f"; expected one of: {', '.join(sorted(allowed))}")))
    return out


def _same(expected, actual) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, (int, float, Decimal)) and isinstance(actual, (int, float, Decimal)):
        return abs(Decimal(str(expected)) - Decimal(str(actual))) <= Decimal("1e-9")
    if isinstance(expected, dict) and isinstance(actual, dict):
        return expected.keys() == actual.keys() and all(_same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(_same(a, b) for a, b in zip(expected, actual))
    return expected == actual


def _show(v) -> str:
    return json.dumps(v, default=str)


def compare(expect: dict, d: Decision) -> list[str]:
    """What differs between a case's `expect` and the decision, as readable lines."""
    problems = []
    ids = [a.action for a in d.actions]
    if "actions" in expect:
        want = list(expect["actions"] or [])
        if want != ids:
            missing = [a for a in want if a not in ids]
            extra = [a for a in ids if a not in want]
            detail = []
            if missing:
                detail.append(f"missing {', '.join(missing)}")
            if extra:
                detail.append(f"unexpected {', '.join(extra)}")
            if not missing and not extra:
                detail.append("same actions, different order")
            problems.append(f"actions: expected {_show(want)}\n         got      {_show(ids)}  ({'; '.join(detail)})")
    for a in expect.get("includes") or []:
        if a not in ids:
            problems.append(f"includes: expected action {a} among {_show(ids)}")
    for a in expect.get("excludes") or []:
        if a in ids:
            act = next(x for x in d.actions if x.action == a)
            problems.append(f"excludes: action {a} is present (proposed by rule '{act.rule}')")
    for r in expect.get("rules") or []:
        if r not in d.matched_rules:
            problems.append(f"rules: expected rule '{r}' to match; matched: {_show(d.matched_rules)}")
    for r in expect.get("not_rules") or []:
        if r in d.matched_rules:
            problems.append(f"not_rules: rule '{r}' matched but should not")
    for a, params in (expect.get("params") or {}).items():
        act = next((x for x in d.actions if x.action == a), None)
        if act is None:
            problems.append(f"params: action {a} is not in the decision")
            continue
        for k, v in (params or {}).items():
            if k not in act.params:
                problems.append(f"params: {a}.{k} missing (params are {_show(act.params)})")
            elif not _same(v, act.params[k]):
                problems.append(f"params: {a}.{k} expected {_show(v)}, got {_show(act.params[k])}")
    sup = {s.action: s for s in d.suppressed}
    for a, reason in (expect.get("suppressed") or {}).items():
        if a not in sup:
            problems.append(f"suppressed: expected {a} to be suppressed; suppressed: {_show(sorted(sup))}")
        elif reason and sup[a].reason != reason:
            problems.append(f"suppressed: {a} expected reason {reason!r}, got {sup[a].reason!r} (rule '{sup[a].rule}')")
    if "fallback" in expect and bool(expect["fallback"]) != any(a.fallback for a in d.actions):
        problems.append(f"fallback: expected {bool(expect['fallback'])}")
    return problems
