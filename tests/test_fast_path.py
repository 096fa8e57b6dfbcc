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


# -- lean DECIDE: check only, no converted copy of the context -------------------------------------

def _one_field(when: str, extra: str = "") -> "rules_engine.Ruleset":
    return rules_engine.compile_ruleset_text(
        f"ruleset: f\ncontext: {{x: number, y: number?}}\nrules:\n  - id: r\n    when: {when}\n"
        f"    then: [a]\n{extra}", filename="f.yaml")


def _decide_both(rs, ctx):
    fast = rs.decide(ctx, as_of=AS_OF)
    slow = rs.decide(ctx, as_of=AS_OF, explain=True)
    assert fast.matched_rules == slow.matched_rules, ctx
    return fast.matched_rules


@pytest.mark.parametrize("mode", ["all", "first"])
def test_a_simple_ruleset_checks_the_context_without_converting_it(mode):
    rs = rules_engine.compile_ruleset_text(BENCH_LIKE + ("policy: {mode: first}\n" if mode == "first" else ""),
                                           filename="bench-like.yaml")
    src = rs._unit.source
    assert "    _v = None\n" in src          # no dicts of converted values are built
    assert "_Decimal(_repr(" not in src      # lifetime_value and age meet whole or binary-exact constants
    if mode == "first":  # the walk returns the winner's index as a constant
        assert "        return _v, (" in src and "ap(" not in src
    for ctx in CONTEXTS:
        _decide_both(rs, ctx)


@pytest.mark.parametrize("when, exact", [
    ("x >= 1150", True), ("x < 0.5", True), ("x between 1 and 2.25", True), ("x in [1..10)", True),
    ("x = 3", True), ("x > 0.1", False), ("x + 1 > 2", False), ("x in (1, 2)", False),
    ("y > 1", True), ("x > 9007199254740993", False)])
def test_numbers_stay_floats_only_against_binary_exact_constants(when, exact):
    rs = _one_field(when)
    assert ("_exact(Xf1)" not in rs._unit.source) == exact


@pytest.mark.parametrize("when", ["x >= 1150", "x < 0.5", "x > 0.1", "x = 1150", "x != 0.5",
                                  "x between 0.5 and 1150", "y >= 1150", "y = 0.5"])
@pytest.mark.parametrize("x", [1150, 1150.0, 1149.9999999999998, 1150.0000000000002, 0.5, 0.49999999999999994,
                               0.5000000000000001, 0.1, 0.1000000000000001, -0.0, 1e300, 3, True, "1150", None])
def test_raw_and_converted_numbers_decide_alike(when, x):
    rs = _one_field(when)
    ctx = {"x": x, "y": x if x is not True else None}
    try:
        got = _decide_both(rs, ctx)
    except rules_engine.ContextError as e:
        with pytest.raises(rules_engine.ContextError) as slow:
            rs.validate(ctx)
        assert str(e) == str(slow.value)  # the same message on both paths
        return
    assert got == _decide_both(_one_field(when, "defaults:\n  - {action: d}\n"), ctx)  # not lean


def test_a_non_finite_float_is_still_rejected():
    rs = _one_field("x > 1")
    for bad in (float("nan"), float("inf")):
        with pytest.raises(rules_engine.ContextError, match="finite"):
            rs.decide({"x": bad, "y": None}, as_of=AS_OF)


def test_binary_exact_constants():
    from decimal import Decimal
    from rules_engine.codegen import binary_exact
    assert binary_exact(1150) and binary_exact(Decimal("0.5")) and binary_exact(Decimal("-2.25"))
    assert not binary_exact(Decimal("0.1")) and not binary_exact(2 ** 53 + 1) and not binary_exact(True)
    assert not binary_exact(Decimal("9.313225746154785e-10"))  # 2**-30 is a float, its repr is not exact


@pytest.mark.parametrize("mode", ["all", "first"])
def test_decide_frame_stays_small_however_many_rules(mode):
    # Temporaries are numbered per condition: 300 rules with three-valued logic (nullable fields,
    # a call) reuse a few names instead of giving DECIDE a frame of a thousand locals to set up.
    rules = "".join(f"""
  - id: r{i}
    priority: {i}
    when: (c.a > {i} or c.b = null) and list contains(c.tags, "t{i % 7}") and (c.b < {i} or c.a < 0)
    then: [a{i}]
""" for i in range(300))
    text = "ruleset: big\ncontext:\n  c: {a: number, b: number?, tags: list(string)}\nrules:" + rules
    text += "policy: {mode: first}\n" if mode == "first" else ""
    rs = rules_engine.compile_ruleset_text(text, filename="big.yaml")
    assert rs._ns["DECIDE"].__code__.co_nlocals < 40
    for ctx in ({"c": {"a": 150, "b": None, "tags": ["t3"]}}, {"c": {"a": 5, "b": 2, "tags": ["t1", "t2"]}}):
        fast, slow = rs.decide(ctx, as_of=AS_OF), rs.decide(ctx, as_of=AS_OF, explain=True)
        assert fast.matched_rules == slow.matched_rules


# -- runs of rules bounded on one number field --------------------------------------------------

_BOUNDS = [("x > 5", 0), ("x >= 5", 1), ("5 < x", 2), ("x > 5.5", 3), ("x >= -2", 4), ("x > 100", 5),
           ("x >= 0.25", 6), ("x > 5 and y = 1", 7), ("x >= 5 and (y = 2 or y = null)", 8),
           ("x < 5", 9), ("x <= 5", 10), ("7 > x", 11), ("x < -1", 12), ("x <= 0.25", 13), ("x < 100", 14),
           ("x <= 5 and y != 1", 15), ("x < 5.5", 16), ("x <= 100.0", 17)]


@pytest.mark.parametrize("mode", ["all", "first"])
def test_bounded_rules_run_weakest_first_and_decide_as_rule_by_rule(mode):
    rules = "".join(f"""
  - id: b{k}
    priority: {(k * 7) % 11}
    when: {when}
    then: [a{k}]
""" for when, k in _BOUNDS)
    rules += """
  - id: windowed
    when: x > 1
    effective: {until: 2026-01-01T00:00:00Z}
    then: [w]
"""
    text = "ruleset: bounds\ncontext: {x: number, y: number?}\nrules:" + rules
    text += "policy: {mode: first}\n" if mode == "first" else ""
    rs = rules_engine.compile_ruleset_text(text, filename="bounds.yaml")
    if mode == "all":
        src = rs._unit.source
        assert "# rules on x above a bound" in src and "# rules on x below a bound" in src
    for x in (-3, -2, -1.5, -1, 0, 0.25, 0.2500001, 1, 5, 5.0, 5.25, 5.5, 6, 7, 99.99, 100, 100.5, 1e9):
        for y in (None, 1, 2):
            ctx = {"x": x, "y": y}
            fast, slow = rs.decide(ctx, as_of=AS_OF), rs.decide(ctx, as_of=AS_OF, explain=True)
            assert fast.matched_rules == slow.matched_rules, ctx
            assert [a.action for a in fast.actions] == [a.action for a in slow.actions], ctx


def test_simple_shape_decide_falls_back_to_defaults_and_names_missing_fields():
    text = ("ruleset: s\ncontext: {c: {x: number}}\nrules:\n  - id: r\n    when: c.x > 5\n    then: [a]\n"
            "defaults:\n  - {action: d}\n")
    rs = rules_engine.compile_ruleset_text(text, filename="s.yaml")
    assert "decide" in vars(rs)  # the simple-shape closure
    assert [(a.action, a.fallback) for a in rs.decide({"c": {"x": 1}}, as_of=AS_OF).actions] == [("d", True)]
    assert [a.action for a in rs.decide({"c": {"x": 9}}, as_of=AS_OF).actions] == ["a"]
    for bad, where in (({"c": {}}, "c.x"), ({"c": None}, "c"), ({}, "c")):
        with pytest.raises(rules_engine.ContextError) as e:
            rs.decide(bad, as_of=AS_OF)
        assert e.value.path == where


def test_many_matches_are_ranked_on_first_read_as_the_general_path_ranks_them():
    rs = rules_engine.compile_ruleset_text(BENCH_LIKE, filename="bench-like.yaml")
    ctx = {"customer": {"tier": "gold", "lifetime_value": 1e6, "country": "US", "channel": "web",
                        "tags": ["vip", "new"], "age": 99}}
    d = rs.decide(ctx, as_of=AS_OF)
    assert len(d.matched_rules) > 3
    with pytest.raises(AttributeError):  # not ordered yet: a caller reading only matched_rules never pays
        rules_engine.Decision.actions.__get__(d)
    first = d.actions
    assert d.actions is first  # ordered once
    slow = rs.decide(ctx, as_of=AS_OF, explain=True)
    assert first == slow.actions and d.matched_rules == slow.matched_rules
    priorities = [a.priority for a in first]
    assert priorities == sorted(priorities, reverse=True)
    assert d.to_dict()["actions"] == [a.to_dict() for a in slow.actions]
    assert len(d.decision_id) == 32 and d.decision_id == d.decision_id != slow.decision_id
    with pytest.raises(AttributeError, match="no attribute 'action_list'"):
        d.action_list  # noqa: B018 - a misspelt attribute still fails as usual


def test_decide_makes_no_evaluation_state_unless_the_rules_read_one():
    plain = rules_engine.compile_ruleset_text(BENCH_LIKE, filename="bench-like.yaml")
    timed = rules_engine.compile_ruleset_text(
        "ruleset: t\ncontext: {c: {x: number}}\nrules:\n  - id: late\n    when: c.x > 5 and now() > @\"2026-01-01T00:00:00Z\"\n"
        "    then: [a]\n  - id: broken\n    when: c.x / 0 > 1\n    then: [b]\n", filename="t.yaml")
    ctx = CONTEXTS[0]
    assert plain._ns["DECIDE_READS_STATE"] is False and timed._ns["DECIDE_READS_STATE"] is True
    assert not _loads(plain._fused, "_s") and _loads(timed._fused, "_s")  # the flag tells the truth
    before = dt.datetime.now(dt.timezone.utc)
    d = plain.decide(ctx)
    assert before <= d.as_of <= dt.datetime.now(dt.timezone.utc) and d.as_of is d.as_of
    assert plain.decide(ctx, as_of=AS_OF).as_of == AS_OF
    assert plain.decide(ctx, as_of="2026-11-22").as_of == dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
    # the rules that read the clock or can fail still see it, and still warn
    d = timed.decide({"c": {"x": 9}}, as_of=AS_OF)
    assert [a.action for a in d.actions] == ["a"] and d.matched_rules == ["late"]
    assert len(d.warnings) == 1 and "division by zero" in d.warnings[0]
    assert timed.decide({"c": {"x": 9}}, as_of=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)).actions == []


def _loads(fn, name: str) -> bool:
    """Whether the bytecode of `fn` reads its local `name` (or a nested function does)."""
    import dis
    code = fn.__code__
    return name in code.co_cellvars or any(
        ins.opname.startswith("LOAD_") and ins.argval == name for ins in dis.get_instructions(code))


@pytest.mark.parametrize("reads_state", [False, True])
def test_bucket_functions_get_the_state_only_when_they_read_it(reads_state):
    """More distinct key values than fit an if/elif chain make bucket functions; they are passed
    the evaluation state only when a rule in them reads the clock or can warn, and DECIDE then
    makes one."""
    extra = ' and 10 / customer.age > 0 and now() > @"2026-01-01T00:00:00Z"' if reads_state else ""
    text = "ruleset: b\ncontext:\n  customer: {country: string, age: number}\nrules:\n" + "".join(
        f"  - id: r{i}\n    when: 'customer.country = \"C{i % 12}\"{extra} and customer.age >= {i % 7}'\n"
        f"    then: [{{action: a{i}}}]\n" for i in range(48))
    rs = rules_engine.compile_ruleset_text(text, filename="b.yaml")
    assert "_B0_" in rs._unit.source  # bucket functions, not an if chain
    assert rs._ns["DECIDE_READS_STATE"] is reads_state
    for country in ("C0", "C5", "C11", "XX"):
        for age in (0, 3, 9):
            ctx = {"customer": {"country": country, "age": age}}
            fast, slow = rs.decide(ctx, as_of=AS_OF), rs.decide(ctx, as_of=AS_OF, explain=True)
            assert fast.matched_rules == slow.matched_rules and fast.actions == slow.actions
            assert fast.warnings == slow.warnings
            if reads_state and age == 0 and country != "XX":
                assert fast.warnings and "division by zero" in fast.warnings[0]
    early = rs.decide({"customer": {"country": "C1", "age": 9}}, as_of=dt.datetime(2025, 6, 1, tzinfo=dt.timezone.utc))
    assert (early.matched_rules == []) is reads_state
