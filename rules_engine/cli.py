"""The `rules` command: check, test, eval, serve. It only translates; the library does the work.

Exit codes: 0 success, 1 the rulesets or tests have problems, 2 usage error or unreadable input.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from .diagnostics import CompileError, sort_and_cap


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(prog="rules", description="Check, test, evaluate and serve customer-treatment rulesets.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="compile every ruleset; print nothing on success")
    p.add_argument("paths", nargs="*", default=["rulesets/"])
    p.add_argument("--format", choices=["text", "json", "github"], default="text")
    p.add_argument("--strict", action="store_true", help="warnings fail too")

    p = sub.add_parser("test", help="run every *.test.yaml")
    p.add_argument("paths", nargs="*", default=["rulesets/"])
    p.add_argument("--coverage", action="store_true", help="print which rules matched in some case")
    p.add_argument("--min-coverage", type=float, metavar="PCT", help="fail below this rule coverage")
    p.add_argument("--junit", metavar="FILE", help="write JUnit XML")

    p = sub.add_parser("eval", help="decide for one context and print the decision as JSON")
    p.add_argument("ruleset", help="a ruleset name (found in --rulesets) or a ruleset file")
    p.add_argument("--context", required=True, metavar="FILE|-", help="JSON or YAML context; - reads stdin")
    p.add_argument("--rulesets", default="rulesets/", metavar="DIR")
    p.add_argument("--as-of", metavar="DATETIME", help="the decision clock (ISO 8601 with offset)")
    p.add_argument("--explain", action="store_true")

    p = sub.add_parser("serve", help="run the gRPC decision service")
    try:
        from .server import add_serve_arguments
        add_serve_arguments(p)
    except ImportError:  # pragma: no cover - the service module is part of the package
        pass

    args = parser.parse_args(argv)
    try:
        return {"check": cmd_check, "test": cmd_test, "eval": cmd_eval, "serve": cmd_serve}[args.command](args)
    except BrokenPipeError:
        return 0


def _missing(paths) -> "str | None":
    for p in paths:
        if not Path(p).exists():
            return p
    return None


def cmd_check(args) -> int:
    from .directory import load_directory, ruleset_files
    if (m := _missing(args.paths)):
        print(f"rules check: no such file or directory: {m}", file=sys.stderr)
        return 2
    diags = []
    files = 0
    for path in args.paths:
        files += len(ruleset_files(path))
        engine = load_directory(path)
        for d in engine.errors.values():
            diags.extend(d)
        for rs in engine.rulesets.values():
            diags.extend(rs.warnings)
    diags = sort_and_cap(diags, cap=1000)
    if args.format == "json":
        if diags:
            print(json.dumps([d.to_dict() for d in diags], indent=2))
    elif args.format == "github":
        for d in diags:
            level = "error" if d.is_error else "warning"
            msg = d.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            print(f"::{level} file={d.file},line={d.line},col={d.col},endColumn={d.end_col},title={d.code}::{msg}")
    else:
        for d in diags:
            print(d.render())
        errors = sum(d.is_error for d in diags)
        if diags:
            print(f"{errors} error(s), {len(diags) - errors} warning(s) in {files} ruleset file(s)", file=sys.stderr)
    failed = any(d.is_error for d in diags) or (args.strict and diags)
    return 1 if failed else 0


def cmd_test(args) -> int:
    from .testing import run_tests
    if (m := _missing(args.paths)):
        print(f"rules test: no such file or directory: {m}", file=sys.stderr)
        return 2
    report = run_tests(args.paths)
    for d in report.errors:
        print(d.render())
    for c in report.cases:
        if not c.passed:
            print(f"FAIL {c.file}:{c.line}: {c.name}")
            for p in c.problems:
                print("     " + p.replace("\n", "\n     "))
    if args.coverage:
        print("\ncoverage (cases in which each rule matched):")
        for name, rules in sorted(report.coverage.items()):
            hit = sum(1 for n in rules.values() if n)
            print(f"  {name}: {hit}/{len(rules)} rules")
            for rid, n in rules.items():
                print(f"    {'ok ' if n else 'NEVER'} {rid}" + (f" ({n})" if n else ""))
    pct = report.coverage_percent()
    if args.junit:
        _write_junit(args.junit, report)
    failed = report.failed + len([d for d in report.errors if d.is_error])
    print(f"{report.passed} passed, {failed} failed")
    if args.min_coverage is not None and pct < args.min_coverage:
        never = [f"{n}:{r}" for n, rules in report.coverage.items() for r, k in rules.items() if not k]
        print(f"rule coverage {pct:.1f}% is below --min-coverage {args.min_coverage:g}%; never matched: {', '.join(never)}")
        return 1
    return 1 if failed else 0


def _write_junit(path: str, report) -> None:
    by_file: dict[str, list] = {}
    for c in report.cases:
        by_file.setdefault(c.file, []).append(c)
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<testsuites tests="{len(report.cases)}" failures="{report.failed}" errors="{len(report.errors)}">']
    for f, cases in by_file.items():
        fails = sum(not c.passed for c in cases)
        out.append(f'  <testsuite name={quoteattr(f)} tests="{len(cases)}" failures="{fails}">')
        for c in cases:
            out.append(f'    <testcase classname={quoteattr(f)} name={quoteattr(c.name)}>')
            if not c.passed:
                out.append(f'      <failure message={quoteattr(c.problems[0].splitlines()[0])}>'
                           f'{escape(chr(10).join(c.problems))}</failure>')
            out.append("    </testcase>")
        out.append("  </testsuite>")
    if report.errors:
        out.append('  <testsuite name="errors" tests="%d" errors="%d">' % (len(report.errors), len(report.errors)))
        for d in report.errors:
            out.append(f'    <testcase classname={quoteattr(d.file)} name={quoteattr(f"{d.file}:{d.line}:{d.col}")}>'
                       f'<error message={quoteattr(d.message)}>{escape(d.render())}</error></testcase>')
        out.append("  </testsuite>")
    out.append("</testsuites>")
    Path(path).write_text("\n".join(out) + "\n", encoding="utf-8")


def cmd_eval(args) -> int:
    import yaml
    from .directory import load_directory
    from .ruleset import RulesetError, compile_ruleset
    from .schema import ContextError
    try:
        raw = sys.stdin.read() if args.context == "-" else Path(args.context).read_text(encoding="utf-8")
    except OSError as e:
        print(f"rules eval: cannot read context {args.context}: {e.strerror or e}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:  # binary or non-UTF-8 input: unreadable, not a crash
        print(f"rules eval: cannot read context {args.context}: not UTF-8 text ({e.reason} at byte {e.start})",
              file=sys.stderr)
        return 2
    try:
        context = json.loads(raw)
    except json.JSONDecodeError:
        try:
            context = _yaml_context(raw)
        except (yaml.YAMLError, CompileError) as e:
            print(f"rules eval: the context is neither JSON nor YAML: {e}", file=sys.stderr)
            return 2
    as_of = None
    if args.as_of:
        from .runtime import FeelError, parse_datetime
        try:
            as_of = parse_datetime(args.as_of)
        except FeelError:
            as_of = None
        if as_of is None or as_of.tzinfo is None:
            print(f"rules eval: --as-of must be an ISO 8601 date-time with an offset, e.g. 2026-11-22T10:00:00Z; "
                  f"got {args.as_of!r}", file=sys.stderr)
            return 2
    target = Path(args.ruleset)
    try:
        if target.suffix in (".yaml", ".yml") and target.is_file():
            rs = compile_ruleset(target)
        else:
            if not Path(args.rulesets).exists():
                print(f"rules eval: no such directory: {args.rulesets}", file=sys.stderr)
                return 2
            engine = load_directory(args.rulesets)
            rs = engine.rulesets.get(args.ruleset)
            if rs is None:
                for diags in engine.errors.values():
                    for d in diags:
                        print(d.render(), file=sys.stderr)
                from .diagnostics import suggest
                best = suggest(args.ruleset, engine.rulesets)
                print(f"rules eval: no ruleset named '{args.ruleset}' in {args.rulesets}"
                      + (f" (did you mean '{best}'?)" if best else ""), file=sys.stderr)
                return 2
    except (RulesetError, CompileError) as e:
        for d in e.diagnostics:
            print(d.render(), file=sys.stderr)
        return 1
    try:
        decision = rs.decide(context, as_of=as_of, explain=args.explain)
    except ContextError as e:
        print(f"rules eval: invalid context: {e}", file=sys.stderr)
        return 1
    print(json.dumps(decision.to_dict(), indent=2, default=str))
    return 0


def _yaml_context(raw: str):
    from .loader import load_yaml
    return load_yaml(raw, "<context>").to_python()


def cmd_serve(args) -> int:
    from .server import run_serve
    return run_serve(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
