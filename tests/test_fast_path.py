"""The fused fast path (generated DECIDE) must run without falling back, and agree with the
rule-by-rule path that explanations use. A silent fallback would hide a code generation bug
behind correct but slow answers, so these tests call the generated function directly."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import rules_engine
from rules_engine.codegen import EvalState
from rules_engine.loader import load_yaml

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.datetime(2026, 11, 22, 10, tzinfo=dt.timezone.utc)


def _cases():
    for test_file in sorted((ROOT / "rulesets").rglob("*.test.yaml")):
        doc = load_yaml(test_file.read_text(), str(test_file)).to_python()
        ruleset = test_file.with_name(test_file.name.replace(".test.yaml", ".yaml"))
        for case in doc["cases"]:
            yield pytest.param(ruleset, case.get("as_of", doc.get("as_of")), case["context"],
                               id=f"{ruleset.stem}:{case['name'][:40]}")


_COMPILED: dict = {}


def _compiled(path):
    if path not in _COMPILED:
        _COMPILED[path] = rules_engine.compile_ruleset(path)
    return _COMPILED[path]


@pytest.mark.parametrize("ruleset, as_of, context", list(_cases()))
def test_example_cases_take_the_fused_path_and_agree_with_explain(ruleset, as_of, context):
    rs = _compiled(ruleset)
    assert rs._fused is not None
    clock = rules_engine.decision._clock(as_of)
    rs._fused(context, EvalState(clock))  # must not raise: no silent fallback
    fast = rs.decide(context, as_of=clock)
    slow = rs.decide(context, as_of=clock, explain=True)
    assert [a.to_dict() for a in fast.actions] == [a.to_dict() for a in slow.actions]
    assert fast.matched_rules == slow.matched_rules
    assert [s.to_dict() for s in fast.suppressed] == [s.to_dict() for s in slow.suppressed]


BENCH_LIKE = """
ruleset: bench.like
context:
  customer:
    tier: enum(bronze, silver, gold, platinum)
    lifetime_value: number
    country: string
    channel: enum(web, mobile, email, store, call_center)
    tags: list(string)
    age: number
rules:
""" + "".join(f"""
  - id: r{i}
    priority: {(i * 37) % 100}
    when: 'customer.tier = "{["bronze", "silver", "gold", "platinum"][i % 4]}" and customer.age > {20 + i % 40}
           and customer.country in ("US", "{["DE", "FR", "GB"][i % 3]}") and list contains(customer.tags, "{["vip", "new"][i % 2]}")
           and not(customer.channel = "store") and customer.lifetime_value >= {i * 10}.5'
    then: [{{action: a{i}}}]
""" for i in range(40))

CONTEXTS = [{"customer": {"tier": t, "lifetime_value": v, "country": c, "channel": ch, "tags": tags, "age": age}}
            for t in ("bronze", "gold") for v in (0, 150.5, 9999.99) for c in ("US", "DE")
            for ch in ("web", "store") for tags in ([], ["vip", "new"]) for age in (25, 59)]


@pytest.mark.parametrize("mode", ["all", "first"])
def test_indexed_ruleset_fast_path_matches_rule_by_rule(mode):
    text = BENCH_LIKE + ("policy: {mode: first}\n" if mode == "first" else "")
    rs = rules_engine.compile_ruleset_text(text, filename="bench-like.yaml")
    assert "def DECIDE(" in rs._unit.source
    for ctx in CONTEXTS:
        rs._fused(ctx, EvalState(AS_OF))
        fast = rs.decide(ctx, as_of=AS_OF)
        slow = rs.decide(ctx, as_of=AS_OF, explain=True)
        assert fast.matched_rules == slow.matched_rules
        assert [a.action for a in fast.actions] == [a.action for a in slow.actions]


def test_index_is_used_for_equality_and_membership_conjuncts():
    rs = rules_engine.compile_ruleset_text(BENCH_LIKE, filename="bench-like.yaml")
    src = rs._unit.source
    # every rule requires country in ("US", X): the most selective key, 4 values -> an if/elif chain
    assert "if Xf4 == " in src and "# customer.country = 'DE'" in src and "elif Xf4 == " in src
    # and a decision for a country outside the buckets evaluates none of them
    ctx = {"customer": {"tier": "gold", "lifetime_value": 1e6, "country": "JP", "channel": "web",
                        "tags": ["vip", "new"], "age": 99}}
    assert rs.decide(ctx, as_of=AS_OF).matched_rules == []


def test_float_input_compares_as_its_decimal_text():
    # 0.1 as a binary float is slightly above 0.1; FEEL compares the decimal 0.1
    rs = rules_engine.compile_ruleset_text(
        "ruleset: f\ncontext: {x: number}\nrules:\n  - id: r\n    when: x > 0.1\n    then: [a]\n", filename="f.yaml")
    assert rs.decide({"x": 0.1}, as_of=AS_OF).matched_rules == []
    assert rs.decide({"x": 0.1000001}, as_of=AS_OF).matched_rules == ["r"]
