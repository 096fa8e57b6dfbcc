"""Decision speed benchmark: our engine against plain generated Python, side by side in one run.

    python bench/run.py                 # N = 100, 1000, 10000
    python bench/run.py --sizes 100,1000 --seconds 0.3

The synthetic CRM ruleset of the peers harness (bench/crm_gen.py: tier, country, channel, lifetime
value, age, days since last purchase, tags; 2-4 comparisons per rule combined with and/or) is
written as a ruleset YAML file and compiled with `compile_ruleset_text`; every evaluation is a
full `Ruleset.decide` (validation, matching, actions). The baseline is the same ruleset emitted as one Python function per mode with every
condition inlined as an `if` over local variables (the practical CPython limit without indexing).
Ratios are what to read: absolute rates drift on shared machines. Memory is measured in a child
process per N: resident set size once the ruleset is compiled (RSS MB), and the peak while compiling.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from crm_gen import CHANNELS, TIERS, generate_contexts, generate_ruleset, render_infix  # noqa: E402


def feel(cond: dict) -> str:
    """A condition in our expression language (as the peers harness's adapter writes it)."""
    return render_infix(
        cond, ref=lambda f: "customer." + f, eq="=", ne="!=",
        list_lit=lambda vals: "(" + ", ".join(json.dumps(v) for v in vals) + ")",
        in_fmt="{x} in {lst}", not_in_fmt="not({x} in {lst})", contains_fmt="list contains({x}, {v})")


def python(cond: dict) -> str:
    return render_infix(cond, ref=lambda f: f, str_lit=repr,
                        list_lit=lambda vals: "{" + ", ".join(repr(v) for v in vals) + "}")


SCHEMA = ["context:", "  customer:", f"    tier: enum({', '.join(TIERS)})", "    lifetime_value: number",
          "    days_since_last_purchase: number", "    country: string", f"    channel: enum({', '.join(CHANNELS)})",
          "    tags: list(string)", "    age: number"]


def ruleset_yaml(rs, mode: str) -> str:
    out = [f"ruleset: bench.{mode}", *SCHEMA, "rules:"]
    for r in rs.rules:
        out += [f"  - id: {r.id}", f"    priority: {r.priority}", f"    when: {json.dumps(feel(r.cond))}",
                f"    then: [{{action: {r.id}}}]"]
    if mode == "first":
        out += ["policy:", "  mode: first"]
    return "\n".join(out) + "\n"


def baseline(rs):
    """The same ruleset as plain generated Python: every condition inlined, fields in locals."""
    fields = ("tier", "lifetime_value", "days_since_last_purchase", "country", "channel", "tags", "age")
    head = ["    c = ctx['customer']"] + [f"    {f} = c[{f!r}]" for f in fields]
    src = ["def match_all(ctx):", *head, "    out = []", "    ap = out.append"]
    src += [f"    if {python(r.cond)}: ap({r.id!r})" for r in rs.rules]
    src += ["    return out", "", "def match_first(ctx):", *head]
    src += [f"    if {python(r.cond)}: return {r.id!r}" for r in rs.by_priority]
    src += ["    return None"]
    ns: dict = {}
    exec(compile("\n".join(src) + "\n", "<baseline>", "exec"), ns)
    return ns["match_all"], ns["match_first"]


def rate(fn, ctxs, seconds: float) -> float:
    """Evaluations per second: median of 5 timed batches of about `seconds` each."""
    k, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 5:
        fn(ctxs[k % len(ctxs)])
        k += 1
    batch = max(1, int(k * 5))
    rates = []
    for r in range(5):
        gc.collect()
        gc.disable()
        t0 = time.perf_counter()
        for j in range(batch):
            fn(ctxs[(r * batch + j) % len(ctxs)])
        dt = time.perf_counter() - t0
        gc.enable()
        rates.append(batch / dt)
    return sorted(rates)[2]


def child_memory(n: int) -> None:
    import rules_engine
    rules = generate_ruleset(n)
    text = ruleset_yaml(rules, "all")  # writing the benchmark's YAML is not part of compiling it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    rs = rules_engine.compile_ruleset_text(text, filename="bench-all.yaml")
    compile_s = time.perf_counter() - t0
    gc.collect()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"compile_s": compile_s, "peak_rss_mb": rss / 1024, "import_rss_mb": before / 1024,
                      "rss_mb": _resident_mb(), "rules": len(rs.rules)}))


def _resident_mb() -> float:
    """Resident memory now (Linux /proc; elsewhere the peak, which is an upper bound)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--seconds", type=float, default=0.5, help="time per measurement")
    ap.add_argument("--contexts", type=int, default=400)
    ap.add_argument("--child-memory", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_memory:
        child_memory(args.child_memory)
        return 0
    import rules_engine
    ctxs = generate_contexts(args.contexts)
    print(f"{'N':>6} {'mode':>5} {'engine/s':>10} {'baseline/s':>11} {'ratio':>6} {'mismatch':>8} "
          f"{'compile s':>9} {'RSS MB':>6} {'peak MB':>7}")
    worst = 0
    for n in map(int, args.sizes.split(",")):
        rules = generate_ruleset(n)
        mem = json.loads(subprocess.run([sys.executable, __file__, "--child-memory", str(n)], check=True,
                                        capture_output=True, text=True).stdout)
        all_rs = rules_engine.compile_ruleset_text(ruleset_yaml(rules, "all"), filename="bench-all.yaml")
        first_rs = rules_engine.compile_ruleset_text(ruleset_yaml(rules, "first"), filename="bench-first.yaml")
        base_all, base_first = baseline(rules)
        ours = {"all": lambda c: all_rs.decide(c).matched_rules,
                "first": lambda c: (lambda a: a[0].rule if a else None)(first_rs.decide(c).actions)}
        base = {"all": base_all, "first": base_first}
        for mode in ("all", "first"):
            bad = sum(1 for c in ctxs if (sorted(ours[mode](c)) if mode == "all" else ours[mode](c))
                      != (sorted(base[mode](c)) if mode == "all" else base[mode](c)))
            worst = max(worst, bad)
            r_ours, r_base = rate(ours[mode], ctxs, args.seconds), rate(base[mode], ctxs, args.seconds)
            print(f"{n:>6} {mode:>5} {r_ours:>10,.0f} {r_base:>11,.0f} {r_ours / r_base:>6.2f} {bad:>8} "
                  f"{mem['compile_s']:>9.2f} {mem['rss_mb']:>6.0f} {mem['peak_rss_mb']:>7.0f}", flush=True)
    # The floor of any decision: checking the context's seven fields and building the Decision,
    # with one rule that never matches. First mode's baseline stops at its first match (about the
    # tenth rule it tries), so at every N it costs about as much as this floor alone.
    floor_rs = rules_engine.compile_ruleset_text(
        "\n".join(["ruleset: bench.floor", *SCHEMA, "rules:", "  - id: never", "    when: customer.age < -1",
                   "    then: [{action: none}]"]) + "\n", filename="bench-floor.yaml")
    assert floor_rs.decide(ctxs[0]).matched_rules == []
    print(f"\nfloor: {rate(floor_rs.decide, ctxs, args.seconds):,.0f} decisions/s on the same schema with one "
          f"rule that never matches (context check + Decision)")
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
