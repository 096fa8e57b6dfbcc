"""FEEL conformance runner: run DMN TCK cases (JSON lines) through `rules_engine.compile_expression`.

    python tests/feel_tck.py CASES.jsonl [--quiet] [--tag TAG]

The format of a case file is described in tests/data/README.md (and in the shared conformance
README): one JSON object per line with `expression`, typed `inputs`, a typed `expected` value,
`error_expected` and `feature_tags`. Each expression is compiled with `schema=None` (names are
dynamically typed), evaluated with the inputs, and compared with the expected value:

- numbers with an absolute tolerance of 1e-8 (as the TCK's own runners do);
- `error_expected: true` means the result must be null; a compile error then also counts as a
  pass (the error was found earlier than run time). Otherwise a compile error is a failure;
- temporal values by value *and* by their time zone (the same offset, the same zone id), dates
  and date-times of a different kind never equal each other.

The report is a pass-rate table per feature tag, then every failure (expression, inputs, expected,
got), then a last line `N passed, N failed`. `run_cases(path)` returns the per-case results for
pytest. No case can crash the runner: every exception is caught and reported as that case's
failure, and a case that runs longer than `CASE_TIMEOUT` seconds is stopped (on the main thread).
"""
from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import re
import signal
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # run as a script from a source checkout: make the package importable
    _root = Path(__file__).resolve().parents[1]
    if (_root / "rules_engine").is_dir() and str(_root) not in sys.path:
        sys.path.insert(0, str(_root))

TOLERANCE = Decimal("1e-8")
CASE_TIMEOUT = 10.0  # seconds per case
_WIDE = decimal.Context(prec=200, Emax=999999, Emin=-999999)


# -- typed values -> Python values ------------------------------------------------------------------

class Unrepresentable:
    """A typed value our Python types cannot hold (e.g. a date before year 1): never equal to anything."""

    def __init__(self, type_: str, text: str, why: str):
        self.type, self.text, self.why = type_, text, why

    def __repr__(self) -> str:
        return f"<{self.type} {self.text!r}: {self.why}>"


_DATE = re.compile(r"(-?\d{4,9})-(\d\d)-(\d\d)")
_TIME = re.compile(r"(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d(?::\d\d)?|@[A-Za-z0-9_+\-/]+)?")
_DURATION = re.compile(r"(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?")


def _tz(text: "str | None"):
    if text is None:
        return None
    if text == "Z":
        return dt.timezone.utc
    if text.startswith("@"):
        from zoneinfo import ZoneInfo
        return ZoneInfo(text[1:])
    sign = -1 if text[0] == "-" else 1
    parts = [int(p) for p in text[1:].split(":")] + [0, 0]
    return dt.timezone(sign * dt.timedelta(hours=parts[0], minutes=parts[1], seconds=parts[2]))


def _date(text: str) -> "dt.date":
    m = _DATE.fullmatch(text)
    if not m:
        raise ValueError(f"not a date: {text!r}")
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


def _time(text: str) -> "dt.time":
    m = _TIME.fullmatch(text)
    if not m:
        raise ValueError(f"not a time: {text!r}")
    hh, mm, ss, frac, tz = m.groups()
    # Python keeps microseconds: finer fractions are truncated (as the engine documents).
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return dt.time(int(hh), int(mm), int(ss), micro, tzinfo=_tz(tz))


def _datetime(text: str) -> "dt.datetime":
    day, sep, clock = text.partition("T")
    d = _date(day)
    if not sep:
        return dt.datetime(d.year, d.month, d.day)
    return dt.datetime.combine(d, _time(clock))


def _duration(text: str, kind: str):
    m = _DURATION.fullmatch(text)
    if not m or not any(m.groups()[1:]):
        raise ValueError(f"not a duration: {text!r}")
    sign, y, mo, d, h, mi, s, frac = m.groups()
    sgn = -1 if sign else 1
    if kind == "years and months duration":
        from rules_engine.runtime import YearsMonths
        if d or h or mi or s:
            raise ValueError(f"not a years and months duration: {text!r}")
        return YearsMonths(sgn * (int(y or 0) * 12 + int(mo or 0)))
    if y or mo:
        raise ValueError(f"not a days and time duration: {text!r}")
    micro = int((frac or "0")[:6].ljust(6, "0"))
    return sgn * dt.timedelta(days=int(d or 0), hours=int(h or 0), minutes=int(mi or 0), seconds=int(s or 0),
                              microseconds=micro)


def from_typed(tv: dict) -> Any:
    """`{"type": T, "value": V}` -> the Python value the engine uses for T."""
    t, v = tv["type"], tv.get("value")
    if t == "null" or v is None:
        return None
    if t == "number":
        return Decimal(str(v))
    if t in ("string", "boolean"):
        return v
    if t == "list":
        return [from_typed(x) for x in v]
    if t == "context":
        return {k: from_typed(x) for k, x in v.items()}
    parse = {"date": _date, "time": _time, "date and time": _datetime,
             "days and time duration": lambda s: _duration(s, t),
             "years and months duration": lambda s: _duration(s, t)}.get(t)
    if parse is None:
        return Unrepresentable(t, str(v), "unknown type")
    try:
        return parse(v)
    except (ValueError, OverflowError, KeyError) as e:  # e.g. a date before year 1
        return Unrepresentable(t, str(v), str(e) or type(e).__name__)


# -- comparison ---------------------------------------------------------------------------------

def _same_zone(a, b) -> bool:
    za, zb = a.tzinfo, b.tzinfo
    if za is None or zb is None:
        return za is None and zb is None
    ka, kb = getattr(za, "key", None), getattr(zb, "key", None)
    if ka is not None or kb is not None:
        return ka == kb
    ref = dt.datetime(2000, 1, 1)
    return za.utcoffset(ref) == zb.utcoffset(ref)


def equal(expected: Any, got: Any) -> bool:
    """Does `got` (the engine's value) match `expected` (converted from the case)?"""
    if isinstance(expected, Unrepresentable):
        return False
    if expected is None:
        return got is None
    if isinstance(expected, bool):
        return got is expected
    if isinstance(expected, Decimal):
        if isinstance(got, bool) or not isinstance(got, (Decimal, int)):
            return False
        try:
            return abs(_WIDE.subtract(Decimal(got), expected)) <= TOLERANCE
        except decimal.DecimalException:
            return False
    if isinstance(expected, str):
        return isinstance(got, str) and got == expected
    if isinstance(expected, dt.datetime):
        return (isinstance(got, dt.datetime) and _same_zone(expected, got)
                and got.replace(tzinfo=None) == expected.replace(tzinfo=None))
    if isinstance(expected, dt.date):
        return type(got) is dt.date and got == expected
    if isinstance(expected, dt.time):
        return (isinstance(got, dt.time) and _same_zone(expected, got)
                and got.replace(tzinfo=None) == expected.replace(tzinfo=None))
    if isinstance(expected, dt.timedelta):
        return isinstance(got, dt.timedelta) and got == expected
    if isinstance(expected, list):
        return (isinstance(got, list) and len(got) == len(expected)
                and all(equal(e, g) for e, g in zip(expected, got)))
    if isinstance(expected, dict):
        return (isinstance(got, dict) and set(got) == set(expected)
                and all(equal(expected[k], got[k]) for k in expected))
    # YearsMonths and anything else with value equality
    return type(got) is type(expected) and got == expected


def show(v: Any) -> str:
    """A value as `type text`, e.g. `number 3.5`, `date 2021-01-01`, `null`."""
    if isinstance(v, Unrepresentable):
        return repr(v)
    try:
        from rules_engine import runtime as rt
        if v is None:
            return "null"
        if isinstance(v, str):
            return f"string {json.dumps(v, ensure_ascii=False)}"
        text = rt.format_value(v)
        tz = getattr(v, "tzinfo", None)
        if isinstance(v, (dt.datetime, dt.time)) and tz is not None and not hasattr(tz, "key"):
            text += f" ({tz!r})" if not isinstance(tz, dt.timezone) else ""
        return f"{rt.type_name(v)} {text}"
    except Exception:  # noqa: BLE001 - a broken formatter must not break the report
        return repr(v)


def show_typed(tv: dict) -> str:
    t, v = tv.get("type"), tv.get("value")
    if t == "null":
        return "null"
    if t == "list":
        return "[" + ", ".join(show_typed(x) for x in v) + "]"
    if t == "context":
        return "{" + ", ".join(f"{k}: {show_typed(x)}" for k, x in v.items()) + "}"
    return f"{t} {json.dumps(v, ensure_ascii=False) if t == 'string' else v}"


# -- running --------------------------------------------------------------------------------------

@dataclass
class CaseResult:
    line: int                       # 1-based line in the case file
    case_id: str                    # case/test_id[/decision]
    expression: str
    inputs: dict                    # typed, as in the file
    expected: dict                  # typed, as in the file
    error_expected: bool
    tags: list[str]
    passed: bool
    got: str = ""                   # the value we computed, shown as text
    reason: str = ""                # why it failed (compile error, exception, mismatch...)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout(f"case ran longer than {CASE_TIMEOUT} s")


def run_case(case: dict, line: int = 0) -> CaseResult:
    """Run one case; never raises."""
    expr = case.get("expression", "")
    res = CaseResult(line=line,
                     case_id="/".join(str(case.get(k)) for k in ("case", "test_id", "decision") if case.get(k)),
                     expression=expr, inputs=case.get("inputs") or {}, expected=case.get("expected") or {},
                     error_expected=bool(case.get("error_expected")), tags=list(case.get("feature_tags") or ["(none)"]),
                     passed=False)
    use_alarm = CASE_TIMEOUT and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    old = None
    start = time.perf_counter()
    try:
        if use_alarm:
            old = signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, CASE_TIMEOUT)
        res.passed = _run(case, res)
    except BaseException as e:  # noqa: BLE001 - a case must never crash the runner
        if isinstance(e, KeyboardInterrupt):
            raise
        res.passed = False
        res.reason = f"runner: {type(e).__name__}: {e}"
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old if old is not None else signal.SIG_DFL)
        res.seconds = time.perf_counter() - start
    return res


def _run(case: dict, res: CaseResult) -> bool:
    from rules_engine import compile_expression
    from rules_engine.diagnostics import CompileError

    variables = {name: from_typed(tv) for name, tv in res.inputs.items()}
    bad = [f"{k} = {v!r}" for k, v in variables.items() if isinstance(v, Unrepresentable)]
    expected = from_typed(res.expected) if not res.error_expected else None
    try:
        compiled = compile_expression(res.expression, schema=None)
    except CompileError as e:
        first = e.diagnostics[0] if e.diagnostics else None
        msg = f"{first.code} at {first.line}:{first.col}: {first.message}" if first else str(e)
        res.got = "compile error"
        res.reason = "compile error: " + msg
        return res.error_expected
    except Exception as e:  # noqa: BLE001
        res.got = "crash"
        res.reason = f"compile crashed: {type(e).__name__}: {e}"
        return False
    if bad:
        res.reason = "input not representable: " + "; ".join(bad)
        return False
    try:
        value, warnings = compiled.evaluate_with_warnings(variables)
    except Exception as e:  # noqa: BLE001
        res.got = "crash"
        res.reason = f"evaluation crashed: {type(e).__name__}: {e}"
        return False
    res.got = show(value)
    res.warnings = [str(w) for w in warnings]
    if equal(expected, value):
        return True
    if res.error_expected:
        res.reason = "expected null (an error)"
    elif isinstance(expected, Unrepresentable):
        res.reason = f"expected value not representable: {expected.why}"
    else:
        res.reason = "value differs"
    return False


def load_cases(path: "str | Path") -> "list[tuple[int, dict]]":
    cases = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                cases.append((i, json.loads(line)))
    return cases


def run_cases(path: "str | Path", tag: "str | None" = None) -> "list[CaseResult]":
    """Run every case of a JSON-lines file (optionally only those with feature tag `tag`)."""
    out = []
    for line, case in load_cases(path):
        if tag and tag not in (case.get("feature_tags") or []):
            continue
        out.append(run_case(case, line))
    return out


# -- reporting ------------------------------------------------------------------------------------

def per_tag(results: "list[CaseResult]") -> "dict[str, tuple[int, int]]":
    """tag -> (passed, total), most frequent tags first."""
    total, passed = Counter(), Counter()
    for r in results:
        for t in r.tags:
            total[t] += 1
            passed[t] += r.passed
    return {t: (passed[t], n) for t, n in total.most_common()}


def pass_rate(results: "list[CaseResult]") -> float:
    return sum(r.passed for r in results) / len(results) if results else 0.0


def format_table(results: "list[CaseResult]") -> str:
    rows = per_tag(results)
    width = max([len(t) for t in rows] + [len("feature tag"), len("all")])
    lines = [f"{'feature tag':<{width}}  {'passed':>7}  {'total':>6}  {'rate':>7}",
             f"{'-' * width}  {'-' * 7}  {'-' * 6}  {'-' * 7}"]
    for t, (p, n) in rows.items():
        lines.append(f"{t:<{width}}  {p:>7}  {n:>6}  {100 * p / n:>6.1f}%")
    p, n = sum(r.passed for r in results), len(results)
    lines.append(f"{'-' * width}  {'-' * 7}  {'-' * 6}  {'-' * 7}")
    lines.append(f"{'all':<{width}}  {p:>7}  {n:>6}  {100 * p / n if n else 0:>6.1f}%")
    return "\n".join(lines)


def format_failure(r: CaseResult) -> str:
    inputs = ", ".join(f"{k} = {show_typed(v)}" for k, v in r.inputs.items()) or "(none)"
    expected = "null (error expected)" if r.error_expected else show_typed(r.expected)
    lines = [f"- line {r.line} [{r.case_id}] ({', '.join(r.tags)})",
             f"    expression: {r.expression}",
             f"    inputs:     {inputs}",
             f"    expected:   {expected}",
             f"    got:        {r.got or '-'}",
             f"    reason:     {r.reason}"]
    lines += [f"    warning:    {w}" for w in r.warnings[:3]]
    return "\n".join(lines)


def report(results: "list[CaseResult]", failures: bool = True) -> str:
    parts = [format_table(results)]
    failed = [r for r in results if not r.passed]
    if failures and failed:
        parts.append(f"\nFailures ({len(failed)}):")
        parts.extend(format_failure(r) for r in failed)
    parts.append(f"\n{sum(r.passed for r in results)} passed, {len(failed)} failed")
    return "\n".join(parts)


def main(argv: "list[str] | None" = None) -> int:
    ap = argparse.ArgumentParser(description="Run FEEL conformance cases (JSON lines) against rules_engine.")
    ap.add_argument("cases", help="a .jsonl file of cases")
    ap.add_argument("--tag", help="only the cases with this feature tag")
    ap.add_argument("--quiet", action="store_true", help="the table and the totals only, no failure list")
    args = ap.parse_args(argv)
    try:
        results = run_cases(args.cases, args.tag)
    except (OSError, ValueError) as e:
        print(f"error: cannot read {args.cases}: {e}", file=sys.stderr)
        return 2
    print(report(results, failures=not args.quiet))
    return 0 if all(r.passed for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
