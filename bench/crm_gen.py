# Copied from shared/bench/peers/crm_gen.py (the team's peer-benchmark harness) so that bench/run.py
# measures the same synthetic CRM workload from this repository alone. Keep in sync by hand.
"""Synthetic CRM "customer treatment" ruleset + customer contexts (deterministic).

Everything an adapter needs lives here:

* ``generate_ruleset(n, seed)`` -> ``Ruleset`` (list of ``Rule`` + priority order)
* ``generate_contexts(count, seed)`` -> list of ``{"customer": {...}}`` dicts
* ``eval_cond`` / ``reference_all`` / ``reference_first`` -> the reference semantics
  (a plain recursive walk over the condition AST; the ``py-interp`` baseline
  adapter is exactly this code, every other adapter is checked against it)
* ``render_infix`` -> helper that prints a condition in an infix expression
  language (Python, CEL, ZEN, rule-engine, ... differ only in a few tokens)

Condition AST (JSON-serialisable, so any engine can be fed from it):

    {"and": [cond, cond, ...]}            all sub-conditions hold
    {"or":  [cond, cond, ...]}            at least one holds
    {"field": F, "op": OP, "value": V}    leaf comparison on customer[F]

    OP in  ==  !=  (strings: tier, country, channel)
           <  <=  >  >=  (numbers: lifetime_value [float], age / days_since_last_purchase [int])
           in  not_in     (scalar string field in / not in a list literal)
           contains       (tags list contains the string V)

Semantics measured:

* "all":   every rule whose condition holds, reported as rule ids in ruleset order.
* "first": the single matching rule with the highest ``priority``; ties are
  broken by ruleset order (lower index wins).  ``Ruleset.by_priority`` is that
  order, so "first" == first match when walking ``by_priority``.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

TIERS = ["bronze", "silver", "gold", "platinum"]
TIER_W = [0.45, 0.30, 0.18, 0.07]
COUNTRIES = ["US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "NO", "DK",
             "PL", "BR", "MX", "CA", "AU", "JP", "KR", "IN", "ZA", "SG"]
COUNTRY_W = [20, 10, 9, 8, 6, 6, 4, 3, 2, 2, 4, 5, 4, 5, 3, 3, 2, 2, 1, 1]
CHANNELS = ["web", "mobile", "email", "store", "call_center"]
CHANNEL_W = [35, 30, 15, 15, 5]
TAGS = ["vip", "churn_risk", "newsletter", "promo_seeker", "b2b", "student",
        "loyalty_member", "new", "high_spender", "dormant"]
OFFERS = [f"OFF-{i:03d}" for i in range(1, 121)]

# field name -> kind  (float / int / enum / tags)
FIELDS = {
    "tier": "enum",
    "lifetime_value": "float",
    "days_since_last_purchase": "int",
    "country": "enum",
    "channel": "enum",
    "tags": "tags",
    "age": "int",
}
ENUMS = {"tier": TIERS, "country": COUNTRIES, "channel": CHANNELS}
ENUM_W = {"tier": TIER_W, "country": COUNTRY_W, "channel": CHANNEL_W}
NUMERIC_FIELDS = {k for k, v in FIELDS.items() if v in ("int", "float")}


# --------------------------------------------------------------------------- contexts
def _ltv(rnd: random.Random) -> float:
    return round(rnd.lognormvariate(6.5, 1.25), 2)


def _days(rnd: random.Random) -> int:
    return min(int(rnd.expovariate(1 / 90.0)), 1500)


def _age(rnd: random.Random) -> int:
    return rnd.randint(18, 85)


def generate_contexts(count: int, seed: int = 7) -> list[dict]:
    """``count`` contexts ``{"customer": {...}}``.

    About 1 in 8 customers carries ``lifetime_value`` as a JSON *integer*
    (e.g. ``0`` or ``1200``) -- real payloads do that, and engines with a strict
    int/double split (CEL) must cope.  All other numbers are floats with 2 decimals.
    """
    rnd = random.Random(seed * 1_000_003 + 17)
    out = []
    for _ in range(count):
        ltv: float | int = _ltv(rnd)
        if rnd.random() < 0.125:
            ltv = int(round(ltv, -1))
        ntags = rnd.choices([0, 1, 2, 3, 4], weights=[15, 30, 30, 15, 10])[0]
        cust = {
            "id": f"c{len(out):06d}",
            "tier": rnd.choices(TIERS, TIER_W)[0],
            "lifetime_value": ltv,
            "days_since_last_purchase": _days(rnd),
            "country": rnd.choices(COUNTRIES, COUNTRY_W)[0],
            "channel": rnd.choices(CHANNELS, CHANNEL_W)[0],
            "tags": rnd.sample(TAGS, ntags),
            "age": _age(rnd),
        }
        out.append({"customer": cust})
    return out


# --------------------------------------------------------------------------- rules
@dataclass
class Rule:
    id: str            # "r00042" -- zero padded, so sorting ids == ruleset order
    index: int         # position in the ruleset
    priority: int      # higher = more important ("first" semantics)
    offer: str         # action payload: the offer code (engines only report the id)
    cond: dict         # condition AST, see module doc

    def to_json(self) -> dict:
        return {"id": self.id, "priority": self.priority, "offer": self.offer, "cond": self.cond}


@dataclass
class Ruleset:
    rules: list[Rule]
    seed: int
    by_priority: list[Rule] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.by_priority:
            self.by_priority = sorted(self.rules, key=lambda r: (-r.priority, r.index))

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.rules]

    def to_json(self) -> dict:
        return {"seed": self.seed, "rules": [r.to_json() for r in self.rules]}


def _leaf(rnd: random.Random, f: str) -> dict:
    kind = FIELDS[f]
    if kind == "tags":
        return {"field": f, "op": "contains", "value": rnd.choice(TAGS)}
    if kind == "enum":
        vals, w = ENUMS[f], ENUM_W[f]
        p = rnd.random()
        if f == "country":
            if p < 0.55:
                return {"field": f, "op": "in", "value": sorted(set(rnd.choices(vals, w, k=rnd.randint(2, 4))))}
            if p < 0.9:
                return {"field": f, "op": "==", "value": rnd.choices(vals, w)[0]}
            return {"field": f, "op": "not_in", "value": sorted(set(rnd.choices(vals, w, k=rnd.randint(2, 4))))}
        if p < 0.6:
            return {"field": f, "op": "==", "value": rnd.choice(vals)}
        if p < 0.85:
            return {"field": f, "op": "in", "value": sorted(rnd.sample(vals, 2))}
        return {"field": f, "op": "!=", "value": rnd.choice(vals)}
    # numeric: threshold = max (for > / >=) or min (for < / <=) of three draws from
    # the field's own distribution -> about 1/4 selectivity per comparison
    op = rnd.choice([">", ">=", ">", "<", "<="])
    pick = max if op[0] == ">" else min

    def draw(gen: Callable[[random.Random], Any]) -> Any:
        return pick(gen(rnd), gen(rnd), gen(rnd))

    if kind == "float":
        v: Any = float(max(50, round(draw(_ltv) / 50.0) * 50))   # e.g. 1250.0
    elif f == "age":
        v = draw(_age)
    else:
        v = max(1, draw(_days))
    return {"field": f, "op": op, "value": v}


# (shape, weight): shape is a nested tuple of "x" leaves with and/or
_SHAPES = [
    (("and", "x", "x"), 20),
    (("or", "x", "x"), 3),
    (("and", "x", "x", "x"), 27),
    (("and", "x", ("or", "x", "x")), 20),
    (("or", ("and", "x", "x"), "x"), 6),
    (("and", "x", "x", "x", "x"), 14),
    (("or", ("and", "x", "x"), ("and", "x", "x")), 4),
    (("and", "x", "x", ("or", "x", "x")), 6),
]


def _count_leaves(shape) -> int:
    return 1 if shape == "x" else sum(_count_leaves(s) for s in shape[1:])


def _build(shape, leaves: list[dict]) -> dict:
    if shape == "x":
        return leaves.pop()
    return {shape[0]: [_build(s, leaves) for s in shape[1:]]}


def generate_ruleset(n: int, seed: int = 42) -> Ruleset:
    rnd = random.Random(seed * 7919 + n)
    shapes = [s for s, _ in _SHAPES]
    weights = [w for _, w in _SHAPES]
    rules = []
    for i in range(n):
        shape = rnd.choices(shapes, weights)[0]
        fields = rnd.sample(list(FIELDS), _count_leaves(shape))   # distinct fields per rule
        leaves = [_leaf(rnd, f) for f in fields]
        rules.append(Rule(id=f"r{i:05d}", index=i, priority=rnd.randint(1, 1000),
                          offer=rnd.choice(OFFERS), cond=_build(shape, leaves)))
    return Ruleset(rules=rules, seed=seed)


# --------------------------------------------------------------------------- reference semantics
def eval_cond(c: dict, cust: dict) -> bool:
    """Reference evaluator (naive recursive AST walk)."""
    if "and" in c:
        for s in c["and"]:
            if not eval_cond(s, cust):
                return False
        return True
    if "or" in c:
        for s in c["or"]:
            if eval_cond(s, cust):
                return True
        return False
    op, x, v = c["op"], cust[c["field"]], c["value"]
    if op == "==":
        return x == v
    if op == "!=":
        return x != v
    if op == ">":
        return x > v
    if op == ">=":
        return x >= v
    if op == "<":
        return x < v
    if op == "<=":
        return x <= v
    if op == "in":
        return x in v
    if op == "not_in":
        return x not in v
    if op == "contains":
        return v in x
    raise ValueError(f"unknown op {op!r}")


def reference_all(rs: Ruleset, ctx: dict) -> list[str]:
    cust = ctx["customer"]
    return [r.id for r in rs.rules if eval_cond(r.cond, cust)]


def reference_first(rs: Ruleset, ctx: dict) -> str | None:
    cust = ctx["customer"]
    for r in rs.by_priority:
        if eval_cond(r.cond, cust):
            return r.id
    return None


# --------------------------------------------------------------------------- rendering helpers
def iter_leaves(c: dict) -> Iterable[dict]:
    if "and" in c or "or" in c:
        for s in c.get("and") or c.get("or"):
            yield from iter_leaves(s)
    else:
        yield c


def num_literal(v: Any) -> str:
    """repr keeps floats as floats (``1250.0``) and ints as ints (``30``)."""
    return repr(v)


def render_infix(
    c: dict,
    *,
    ref: Callable[[str], str],                       # field name -> access expression
    and_op: str = "and",
    or_op: str = "or",
    str_lit: Callable[[str], str] = json.dumps,
    list_lit: Callable[[list], str] | None = None,
    in_fmt: str = "{x} in {lst}",
    not_in_fmt: str = "{x} not in {lst}",
    contains_fmt: str = "{v} in {x}",
    num_lit: Callable[[Any], str] = num_literal,
    eq: str = "==",
    ne: str = "!=",
) -> str:
    """Print a condition AST in an infix language; every sub-expression is
    parenthesised, so precedence rules of the target language do not matter."""
    if list_lit is None:
        def list_lit(vals: list) -> str:
            return "[" + ", ".join(str_lit(v) for v in vals) + "]"

    def go(n: dict) -> str:
        if "and" in n:
            return "(" + f" {and_op} ".join(go(s) for s in n["and"]) + ")"
        if "or" in n:
            return "(" + f" {or_op} ".join(go(s) for s in n["or"]) + ")"
        op, f, v = n["op"], n["field"], n["value"]
        x = ref(f)
        if op == "in":
            return "(" + in_fmt.format(x=x, lst=list_lit(v)) + ")"
        if op == "not_in":
            return "(" + not_in_fmt.format(x=x, lst=list_lit(v)) + ")"
        if op == "contains":
            return "(" + contains_fmt.format(x=x, v=str_lit(v)) + ")"
        lit = str_lit(v) if isinstance(v, str) else num_lit(v)
        sym = {"==": eq, "!=": ne}.get(op, op)
        return f"({x} {sym} {lit})"

    return go(c)


def stats(rs: Ruleset, contexts: list[dict]) -> dict:
    """Match-rate summary (printed by run.py so the workload is visible)."""
    tot = 0
    nonempty = 0
    for ctx in contexts:
        k = len(reference_all(rs, ctx))
        tot += k
        nonempty += k > 0
    return {"rules": len(rs), "contexts": len(contexts),
            "avg_matches_per_context": tot / max(1, len(contexts)),
            "contexts_with_a_match": nonempty}


if __name__ == "__main__":   # quick look at the workload
    import sys
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rs = generate_ruleset(n)
    for r in rs.rules[:5]:
        print(r.id, r.priority, r.offer, json.dumps(r.cond))
        print("   ", render_infix(r.cond, ref=lambda f: f"customer.{f}"))
    print(stats(rs, generate_contexts(200)))
