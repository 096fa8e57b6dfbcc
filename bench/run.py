"""Decision speed benchmark: our engine against plain generated Python, side by side in one run.

    python bench/run.py                 # N = 100, 1000, 10000
    python bench/run.py --sizes 100,1000 --seconds 0.3

A synthetic CRM ruleset (tier, country, channel, lifetime value, age, days since last purchase,
tags; 2-4 comparisons per rule combined with and/or) is written as a ruleset YAML file and compiled
with `compile_ruleset_text`; every evaluation is a full `Ruleset.decide` (validation, matching,
actions). The baseline is the same ruleset emitted as one Python function per mode with every
condition inlined as an `if` over local variables (the practical CPython limit without indexing).
Ratios are what to read: absolute rates drift on shared machines. Peak memory is measured in a
child process per N (resident set size after compiling).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import subprocess
import sys
import time

TIERS = ["bronze", "silver", "gold", "platinum"]
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "NO", "DK", "PL", "BR", "MX", "CA", "AU", "JP", "KR", "IN", "ZA", "SG"]
CHANNELS = ["web", "mobile", "email", "store", "call_center"]
TAGS = ["vip", "churn_risk", "newsletter", "promo_seeker", "b2b", "student", "loyalty_member", "new", "high_spender", "dormant"]
SHAPES = [("and", 2), ("and", 3), ("and", 4), ("and_or", 3), ("or", 2), ("or_and", 3)]


def leaf(rnd: random.Random, f: str) -> tuple[str, str]:
    """(FEEL text, Python text) of one comparison on customer field f."""
    if f == "tier":
        v = rnd.choice(TIERS)
        if rnd.random() < 0.6:
            return f'customer.tier = "{v}"', f"tier == {v!r}"
        vs = rnd.sample(TIERS, 2)
        return (f"customer.tier in ({', '.join(json.dumps(x) for x in vs)})", f"tier in {set(vs)!r}")
    if f == "country":
        vs = sorted(rnd.sample(COUNTRIES, rnd.randint(1, 4)))
        if rnd.random() < 0.85:
            return (f"customer.country in ({', '.join(json.dumps(x) for x in vs)})", f"country in {set(vs)!r}")
        return (f"not(customer.country in ({', '.join(json.dumps(x) for x in vs)}))", f"country not in {set(vs)!r}")
    if f == "channel":
        v = rnd.choice(CHANNELS)
        if rnd.random() < 0.8:
            return f'customer.channel = "{v}"', f"channel == {v!r}"
        return f'customer.channel != "{v}"', f"channel != {v!r}"
    if f == "tags":
        v = rnd.choice(TAGS)
        return f'list contains(customer.tags, "{v}")', f"{v!r} in tags"
    op = rnd.choice([">", ">=", "<", "<="])
    v = {"lifetime_value": rnd.choice([250, 500, 1000, 2500, 5000]), "age": rnd.randint(18, 80),
         "days_since_last_purchase": rnd.randint(1, 400)}[f]
    return f"customer.{f} {op} {v}", f"{f} {op} {v}"


def make_rules(n: int, seed: int = 42):
    rnd = random.Random(seed + n)
    fields = ["tier", "country", "channel", "tags", "lifetime_value", "age", "days_since_last_purchase"]
    rules = []
    for i in range(n):
        shape, k = rnd.choice(SHAPES)
        leaves = [leaf(rnd, f) for f in rnd.sample(fields, k)]
        fe, py = [x[0] for x in leaves], [x[1] for x in leaves]
        if shape == "and":
            cond = (" and ".join(fe), " and ".join(py))
        elif shape == "or":
            cond = (" or ".join(fe), " or ".join(py))
        elif shape == "and_or":
            cond = (f"{fe[0]} and ({fe[1]} or {fe[2]})", f"{py[0]} and ({py[1]} or {py[2]})")
        else:
            cond = (f"({fe[0]} and {fe[1]}) or {fe[2]}", f"({py[0]} and {py[1]}) or {py[2]}")
        rules.append((f"r{i:05d}", rnd.randint(1, 1000), cond))
    return rules


def ruleset_yaml(rules, mode: str) -> str:
    out = [f"ruleset: bench.{mode}", "context:", "  customer:", f"    tier: enum({', '.join(TIERS)})",
           "    lifetime_value: number", "    days_since_last_purchase: number", "    country: string",
           f"    channel: enum({', '.join(CHANNELS)})", "    tags: list(string)", "    age: number", "rules:"]
    for rid, prio, (fe, _) in rules:
        out += [f"  - id: {rid}", f"    priority: {prio}", f"    when: {json.dumps(fe)}", f"    then: [{{action: {rid}}}]"]
    if mode == "first":
        out += ["policy:", "  mode: first"]
    return "\n".join(out) + "\n"


def baseline(rules):
    head = ["    c = ctx['customer']"] + [f"    {f} = c[{f!r}]" for f in
                                          ("tier", "lifetime_value", "days_since_last_purchase", "country", "channel", "tags", "age")]
    src = ["def match_all(ctx):", *head, "    out = []", "    ap = out.append"]
    src += [f"    if {py}: ap({rid!r})" for rid, _, (_, py) in rules]
    src += ["    return out", "", "def match_first(ctx):", *head]
    src += [f"    if {py}: return {rid!r}" for rid, _, (_, py) in sorted(rules, key=lambda r: (-r[1], r[0]))]
    src += ["    return None"]
    ns: dict = {}
    exec(compile("\n".join(src) + "\n", "<baseline>", "exec"), ns)
    return ns["match_all"], ns["match_first"]


def contexts(count: int, seed: int = 7):
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        ltv = round(rnd.lognormvariate(6.5, 1.25), 2)
        out.append({"customer": {"id": f"c{i}", "tier": rnd.choice(TIERS), "lifetime_value": ltv if i % 8 else int(ltv),
                                 "days_since_last_purchase": rnd.randint(0, 500), "country": rnd.choice(COUNTRIES),
                                 "channel": rnd.choice(CHANNELS), "tags": rnd.sample(TAGS, rnd.randint(0, 4)),
                                 "age": rnd.randint(18, 85)}})
    return out


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
    rules = make_rules(n)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    rs = rules_engine.compile_ruleset_text(ruleset_yaml(rules, "all"), filename="bench-all.yaml")
    compile_s = time.perf_counter() - t0
    gc.collect()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"compile_s": compile_s, "peak_rss_mb": rss / 1024, "import_rss_mb": before / 1024,
                      "rules": len(rs.rules)}))


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
    ctxs = contexts(args.contexts)
    print(f"{'N':>6} {'mode':>5} {'engine/s':>10} {'baseline/s':>11} {'ratio':>6} {'mismatch':>8} "
          f"{'compile s':>9} {'peak RSS MB':>11}")
    worst = 0
    for n in map(int, args.sizes.split(",")):
        rules = make_rules(n)
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
                  f"{mem['compile_s']:>9.2f} {mem['peak_rss_mb']:>11.0f}", flush=True)
    return 1 if worst else 0


if __name__ == "__main__":
    sys.exit(main())
