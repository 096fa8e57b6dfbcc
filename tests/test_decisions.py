"""Decision semantics, step by step (rulesets.md, "Decision semantics").

Each test compiles a small ruleset written inline and decides with an explicit clock. Most tests run
twice, with and without `explain`: the engine may take a different (faster) path when no
explanation is asked for, and both paths must give the same decision.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import textwrap

import pytest

import rules_engine
from rules_engine import Action, ContextError, Suppression

UTC = dt.timezone.utc
AS_OF = dt.datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def compile_rs(text: str):
    return rules_engine.compile_ruleset_text(textwrap.dedent(text).lstrip("\n"), filename="x.yaml")


@pytest.fixture(params=[False, True], ids=["plain", "explain"])
def explain(request):
    return request.param


def ids(decision) -> list[str]:
    return [a.action for a in decision.actions]


def trace(decision) -> dict:
    """rule id -> explanation entry."""
    return {e["rule"]: e for e in decision.explanation["rules"]}


def comparable(d: dict) -> dict:
    d = dict(d)
    d.pop("decision_id")
    return d


# -- 1. matching: true matches, false and null do not ------------------------------------------------

MATCHING = """
ruleset: t
context:
  customer:
    age: number
    nps: number?
rules:
  - id: adult
    when: customer.age >= 18
    then: adult_offer
  - id: promoter
    when: customer.nps >= 9
    then: referral
  - id: never-asked
    when: customer.nps = null
    then: nps_survey
"""


def test_true_matches_false_does_not(explain):
    rs = compile_rs(MATCHING)
    d = rs.decide({"customer": {"age": 30, "nps": 10}}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == ["adult", "promoter"]
    assert ids(d) == ["adult_offer", "referral"]
    d = rs.decide({"customer": {"age": 17, "nps": 3}}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == []
    assert d.actions == []


@pytest.mark.parametrize("customer", [{"age": 30}, {"age": 30, "nps": None}], ids=["missing", "null"])
def test_missing_optional_field_is_null_and_does_not_match(customer, explain):
    rs = compile_rs(MATCHING)
    d = rs.decide({"customer": customer}, as_of=AS_OF, explain=explain)
    # `customer.nps >= 9` is null: no match, and no error either; `= null` tests for it
    assert d.matched_rules == ["adult", "never-asked"]
    assert ids(d) == ["adult_offer", "nps_survey"]
    assert d.warnings == []
    if explain:
        t = trace(d)["promoter"]
        assert t["status"] == "not_matched"
        assert t["condition"] == "customer.nps >= 9"
        assert t["values"] == {"customer.nps": None}   # the field read, not the whole customer object


def test_null_in_a_conjunction_is_no_match_but_false_and_null_is_false(explain):
    rs = compile_rs("""
        ruleset: t
        context: {a: boolean?, b: boolean}
        rules:
          - id: and-rule
            when: a and b
            then: x
          - id: or-rule
            when: a or b
            then: y
    """)
    d = rs.decide({"b": True}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == ["or-rule"]       # null and true = null; null or true = true
    d = rs.decide({"b": False}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == []                # null or false = null


# -- 2. proposals and params ---------------------------------------------------------------------

def test_params_literal_expression_and_escaped_literal(explain):
    rs = compile_rs(r"""
        ruleset: t
        context:
          customer: {first_name: string, spend: number, nickname: string?}
        rules:
          - id: welcome
            when: true
            then:
              - action: greet
                params:
                  code: WINBACK20
                  discount: 0.2
                  count: 3
                  on: true
                  channels: [email, sms]
                  nested: {a: 1}
                  greeting: '="Welcome back, " + customer.first_name'
                  cashback: '=customer.spend * 0.1'
                  today: '=today()'
                  nick: '=customer.nickname'
                  formula: '\=not an expression'
                  equation: 'a=b'
    """)
    d = rs.decide({"customer": {"first_name": "Ana", "spend": 250}}, as_of=AS_OF, explain=explain)
    (a,) = d.actions
    assert a.params == {
        "code": "WINBACK20", "discount": 0.2, "count": 3, "on": True, "channels": ["email", "sms"],
        "nested": {"a": 1}, "greeting": "Welcome back, Ana", "cashback": 25, "today": "2026-11-22",
        "nick": None, "formula": "=not an expression", "equation": "a=b",
    }
    json.dumps(d.to_dict())  # JSON-ready without any default= hook


def test_params_are_evaluated_per_decision(explain):
    rs = compile_rs("""
        ruleset: t
        context: {n: number}
        rules:
          - id: r
            when: true
            then: [{action: a, params: {double: '=n * 2'}}]
    """)
    ds = [rs.decide({"n": n}, as_of=AS_OF, explain=explain) for n in (1, 2, 3)]
    assert [d.actions[0].params["double"] for d in ds] == [2, 4, 6]


def test_a_param_that_fails_at_run_time_is_null_with_a_warning(explain):
    rs = compile_rs("""
        ruleset: t
        context: {n: number}
        rules:
          - id: r
            when: true
            then: [{action: a, params: {ratio: '=10 / n', ok: 1}}]
    """)
    d = rs.decide({"n": 0}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["a"]
    assert d.actions[0].params == {"ratio": None, "ok": 1}
    assert len(d.warnings) == 1 and "division by zero" in d.warnings[0]
    assert d.warnings[0].startswith("x.yaml:6:42:")


# -- 3. suppression beats proposals, whatever the priorities --------------------------------------

SUPPRESSION = """
ruleset: t
context: {minor: boolean, opt_out: boolean, quiet: boolean}
actions:
  winback_20:   {group: offer, priority: 100, tags: [marketing, email]}
  whats_new:    {group: offer, priority: 10, tags: [marketing]}
  sms_promo:    {group: sms, priority: 80, tags: [promo]}
  adviser_call: {priority: 90, tags: [service]}
rules:
  - id: propose-all
    when: true
    priority: 1000
    then: [winback_20, whats_new, sms_promo, adviser_call]
    reason: r.propose
  - id: no-marketing-minors
    when: minor
    priority: 1
    suppress: {tags: [marketing]}
    reason: eligibility.age_under_18
  - id: opt-out-winback
    when: opt_out
    suppress: {actions: [winback_20]}
    reason: consent.opt_out
  - id: quiet-sms
    when: quiet
    suppress: {groups: [sms]}
    reason: contact.quiet_hours
"""


def test_suppression_by_tags_beats_a_higher_priority_proposal(explain):
    rs = compile_rs(SUPPRESSION)
    d = rs.decide({"minor": True, "opt_out": False, "quiet": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["sms_promo", "adviser_call"]
    assert [a.priority for a in d.actions] == [1000.0, 1000.0]
    assert d.suppressed == [Suppression("winback_20", "no-marketing-minors", "eligibility.age_under_18"),
                            Suppression("whats_new", "no-marketing-minors", "eligibility.age_under_18")]
    assert d.matched_rules == ["propose-all", "no-marketing-minors"]
    if explain:
        assert {"action": "winback_20", "rule": "propose-all", "group": "offer",
                "reason": "suppressed by rule 'no-marketing-minors' (eligibility.age_under_18)"} \
            in d.explanation["dropped"]


def test_suppression_by_action_id(explain):
    rs = compile_rs(SUPPRESSION)
    d = rs.decide({"minor": False, "opt_out": True, "quiet": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["whats_new", "sms_promo", "adviser_call"]
    assert d.suppressed == [Suppression("winback_20", "opt-out-winback", "consent.opt_out")]


def test_suppression_by_group(explain):
    rs = compile_rs(SUPPRESSION)
    d = rs.decide({"minor": False, "opt_out": False, "quiet": True}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["winback_20", "whats_new", "adviser_call"]
    assert d.suppressed == [Suppression("sms_promo", "quiet-sms", "contact.quiet_hours")]
    assert [d_.to_dict() for d_ in d.suppressed] == [
        {"action": "sms_promo", "rule": "quiet-sms", "reason": "contact.quiet_hours"}]


def test_a_suppression_written_before_the_proposal_still_wins(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: stop
            when: x > 0
            suppress: {actions: [offer]}
            reason: stop.it
          - id: go
            when: x > 0
            priority: 999
            then: offer
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert d.actions == []
    assert d.suppressed == [Suppression("offer", "stop", "stop.it")]
    assert d.matched_rules == ["stop", "go"]


def test_a_suppress_rule_that_does_not_match_removes_nothing(explain):
    rs = compile_rs(SUPPRESSION)
    d = rs.decide({"minor": False, "opt_out": False, "quiet": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["winback_20", "whats_new", "sms_promo", "adviser_call"]
    assert d.suppressed == []


# -- 4. group arbitration ---------------------------------------------------------------------------

def test_group_max_keeps_the_highest_priority_candidates(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          gold:   {group: offer, priority: 50}
          silver: {group: offer, priority: 70}
          bronze: {group: offer, priority: 60}
          banner: {group: banner, priority: 5}
          promo:  {group: banner, priority: 6}
          call:   {priority: 1}
        rules:
          - id: r1
            when: true
            then: [gold, silver, bronze, banner, promo, call]
        policy:
          groups:
            offer: {max: 2}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    # offer keeps 2 of 3; banner has no limit; call is in no group
    assert ids(d) == ["silver", "bronze", "promo", "banner", "call"]
    if explain:
        assert d.explanation["dropped"] == [
            {"action": "gold", "rule": "r1", "group": "offer",
             "reason": "group 'offer' keeps at most 2: lost to higher-priority silver, bronze"}]


def test_group_ties_break_by_rule_order_in_the_file(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          late:  {group: offer, priority: 50}
          early: {group: offer, priority: 50}
        rules:
          - id: first-in-file
            when: true
            then: early
          - id: second-in-file
            when: true
            then: late
        policy:
          groups: {offer: {max: 1}}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["early"]
    assert d.actions[0].rule == "first-in-file"
    if explain:
        assert d.explanation["dropped"] == [
            {"action": "late", "rule": "second-in-file", "group": "offer",
             "reason": "group 'offer' keeps at most 1: lost to higher-priority early"}]


def test_group_ties_in_one_rule_break_by_action_order_in_then(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          a_first_alphabetically: {group: offer, priority: 50}
          z_last_alphabetically:  {group: offer, priority: 50}
        rules:
          - id: r
            when: true
            then: [z_last_alphabetically, a_first_alphabetically]
        policy:
          groups: {offer: {max: 1}}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["z_last_alphabetically"]


def test_group_arbitration_runs_after_suppression(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          best:   {group: offer, priority: 90}
          second: {group: offer, priority: 50}
        rules:
          - id: r
            when: true
            then: [best, second]
          - id: no-best
            when: x > 0
            suppress: {actions: [best]}
            reason: nope
        policy:
          groups: {offer: {max: 1}}
    """)
    # the suppressed winner frees the slot for the runner-up
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["second"]
    assert d.suppressed == [Suppression("best", "no-best", "nope")]
    d = rs.decide({"x": 0}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["best"]


def test_a_group_override_in_then_takes_part_in_arbitration(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          a: {group: offer, priority: 10}
          b: {group: offer, priority: 20}
        rules:
          - id: r
            when: true
            then:
              - a
              - {action: b, group: other}
        policy:
          groups: {offer: {max: 1}, other: {max: 1}}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert [(a.action, a.group) for a in d.actions] == [("b", "other"), ("a", "offer")]


# -- 5. fallback defaults ---------------------------------------------------------------------------

FALLBACK = """
ruleset: t
context: {x: number, name: string}
actions:
  offer:      {priority: 10, tags: [marketing]}
  mobile_app: {group: banner, priority: 3, params: {placement: home}}
rules:
  - id: r
    when: x > 0
    then: offer
  - id: block
    when: x > 10
    suppress: {tags: [marketing]}
    reason: blocked
defaults:
  - action: mobile_app
    params: {hello: '="Hi " + name'}
"""


def test_defaults_are_returned_only_when_nothing_survives(explain):
    rs = compile_rs(FALLBACK)
    d = rs.decide({"x": 0, "name": "Bo"}, as_of=AS_OF, explain=explain)
    assert d.actions == [Action("mobile_app", {"placement": "home", "hello": "Hi Bo"}, "", 3.0, "banner", "", True)]
    assert d.to_dict()["actions"][0]["fallback"] is True
    d = rs.decide({"x": 5, "name": "Bo"}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["offer"]
    assert [a.fallback for a in d.actions] == [False]


def test_defaults_when_everything_was_suppressed(explain):
    rs = compile_rs(FALLBACK)
    d = rs.decide({"x": 20, "name": "Bo"}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["mobile_app"]
    assert d.actions[0].fallback is True
    assert d.suppressed == [Suppression("offer", "block", "blocked")]
    assert d.matched_rules == ["r", "block"]


def test_no_defaults_means_an_empty_decision(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: r
            when: x > 0
            then: a
    """)
    d = rs.decide({"x": 0}, as_of=AS_OF, explain=explain)
    assert d.actions == [] and d.matched_rules == [] and d.suppressed == []


# -- 6. final ordering, one action per id -----------------------------------------------------------

def test_result_is_ordered_by_priority_then_rule_order(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: r1
            when: true
            priority: 5
            then: [low_a, low_b]
          - id: r2
            when: true
            priority: 50
            then: high
          - id: r3
            when: true
            priority: 5
            then: low_c
          - id: r4
            when: true
            then: zero
          - id: r5
            when: true
            priority: -1
            then: negative
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert [(a.action, a.rule, a.priority) for a in d.actions] == [
        ("high", "r2", 50.0), ("low_a", "r1", 5.0), ("low_b", "r1", 5.0), ("low_c", "r3", 5.0),
        ("zero", "r4", 0.0), ("negative", "r5", -1.0)]
    assert d.matched_rules == ["r1", "r2", "r3", "r4", "r5"]  # file order


def test_the_same_action_from_two_rules_appears_once_from_the_higher_priority_rule(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: low
            when: true
            priority: 10
            then: [{action: offer, params: {from: low}}]
            reason: r.low
          - id: high
            when: true
            priority: 20
            then: [{action: offer, params: {from: high}}]
            reason: r.high
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert d.actions == [Action("offer", {"from": "high"}, "high", 20.0, "", "r.high", False)]
    assert d.matched_rules == ["low", "high"]
    if explain:
        assert d.explanation["dropped"] == [
            {"action": "offer", "rule": "low", "group": "",
             "reason": "the same action was proposed with a higher priority by another rule"}]


def test_the_same_action_with_equal_priorities_comes_from_the_earlier_rule(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: first
            when: true
            then: [{action: offer, params: {n: 1}}]
          - id: second
            when: true
            then: [{action: offer, params: {n: 2}}]
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert [(a.action, a.rule, a.params) for a in d.actions] == [("offer", "first", {"n": 1})]


def test_a_duplicate_action_counts_once_in_its_group(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          a: {group: g, priority: 30}
          b: {group: g, priority: 20}
          c: {group: g, priority: 10}
        rules:
          - id: r1
            when: true
            then: [a, c]
          - id: r2
            when: true
            priority: 25
            then: [a, b]
        policy:
          groups: {g: {max: 2}}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    # a (30, r1) and a (25, r2) are one action: the two slots go to a and b, not a twice
    assert [(a.action, a.rule, a.priority) for a in d.actions] == [("a", "r1", 30.0), ("b", "r2", 25.0)]


# -- catalog defaults and overrides --------------------------------------------------------------

def test_catalog_defaults_and_rule_overrides(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          offer: {group: offers, priority: 40, tags: [marketing], params: {code: CAT, discount: 0.1}}
          call:  {priority: 70}
          plain: {}
        rules:
          - id: from-catalog
            when: true
            then: [offer]
            reason: r.catalog
          - id: overrides
            when: true
            then:
              - {action: call, priority: 75, group: care, params: {queue: vip}}
              - action: plain
          - id: rule-priority
            when: true
            priority: 5
            then: [{action: offer, params: {discount: 0.5, extra: yes}}]
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert [a.to_dict() for a in d.actions] == [
        {"action": "call", "params": {"queue": "vip"}, "rule": "overrides", "priority": 75.0, "group": "care",
         "reason": "", "fallback": False},
        {"action": "offer", "params": {"code": "CAT", "discount": 0.1}, "rule": "from-catalog", "priority": 40.0,
         "group": "offers", "reason": "r.catalog", "fallback": False},
        {"action": "plain", "params": {}, "rule": "overrides", "priority": 0.0, "group": "",
         "reason": "", "fallback": False},
    ]


def test_rule_params_merge_over_catalog_params_and_rule_priority_beats_the_catalogs(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          offer: {group: offers, priority: 40, params: {code: CAT, discount: 0.1}}
        rules:
          - id: r
            when: true
            priority: 5
            then: [{action: offer, params: {discount: '=x / 2', extra: true}}]
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert d.actions == [Action("offer", {"code": "CAT", "discount": 0.5, "extra": True}, "r", 5.0, "offers", "", False)]


def test_catalog_tags_drive_suppression(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          email_offer: {tags: [marketing, email]}
          letter:      {tags: [service]}
        rules:
          - id: r
            when: true
            then: [email_offer, letter]
          - id: no-email
            when: true
            suppress: {tags: [email]}
            reason: no.email
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["letter"]
    assert d.suppressed == [Suppression("email_offer", "no-email", "no.email")]


# -- dynamic priority ------------------------------------------------------------------------------

def test_priority_as_an_expression_is_evaluated_per_decision(explain):
    rs = compile_rs("""
        ruleset: t
        context: {score: number}
        actions:
          a: {group: g}
          b: {group: g}
        rules:
          - id: ra
            when: true
            priority: '=score * 2'
            then: a
          - id: rb
            when: true
            priority: 50
            then: b
        policy:
          groups: {g: {max: 1}}
    """)
    d = rs.decide({"score": 10}, as_of=AS_OF, explain=explain)
    assert [(a.action, a.priority) for a in d.actions] == [("b", 50.0)]
    d = rs.decide({"score": 30}, as_of=AS_OF, explain=explain)
    assert [(a.action, a.priority) for a in d.actions] == [("a", 60.0)]
    d = rs.decide({"score": 25}, as_of=AS_OF, explain=explain)  # 50 = 50: file order
    assert [(a.action, a.priority) for a in d.actions] == [("a", 50.0)]


def test_a_dynamic_priority_can_read_the_clock(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: seasonal
            when: true
            priority: '=if today() >= @"2026-11-30" then 60 else 30'
            then: black_friday
          - id: steady
            when: true
            priority: 45
            then: bundle
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["bundle", "black_friday"]
    d = rs.decide({"x": 1}, as_of=dt.datetime(2026, 11, 30, tzinfo=UTC), explain=explain)
    assert ids(d) == ["black_friday", "bundle"]
    assert d.actions[0].priority == 60.0


def test_a_then_level_priority_expression(explain):
    rs = compile_rs("""
        ruleset: t
        context: {n: number}
        rules:
          - id: r
            when: true
            then:
              - {action: a, priority: 10}
              - {action: b, priority: '=n'}
    """)
    assert ids(rs.decide({"n": 5}, as_of=AS_OF, explain=explain)) == ["a", "b"]
    assert ids(rs.decide({"n": 15}, as_of=AS_OF, explain=explain)) == ["b", "a"]


# -- policy.mode: first ----------------------------------------------------------------------------

FIRST = """
ruleset: t
context: {x: number, minor: boolean}
actions:
  gold:   {tags: [marketing]}
  silver: {tags: [marketing]}
  bronze: {tags: [marketing]}
  broken: {}
  basic:  {}
rules:
  - id: no-marketing-minors
    when: minor
    suppress: {tags: [marketing]}
    reason: eligibility.minor
  - id: bronze-rule
    when: x > 0
    priority: 10
    then: bronze
  - id: broken-rule
    when: 100 / (x - x) > 1
    priority: 5
    then: broken
  - id: gold-rule
    when: x > 100
    priority: 30
    then: gold
  - id: silver-rule
    when: x > 10
    priority: 20
    then: silver
  - id: late-suppressor
    when: x = 50
    priority: -100
    suppress: {actions: [silver]}
    reason: fifty
defaults:
  - action: basic
policy:
  mode: first
"""


def test_first_mode_tries_rules_in_priority_order_and_only_the_winner_proposes(explain):
    rs = compile_rs(FIRST)
    d = rs.decide({"x": 500, "minor": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["gold"]            # silver and bronze also match, but are never tried
    assert d.matched_rules == ["gold-rule"]
    d = rs.decide({"x": 20, "minor": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["silver"]
    assert d.matched_rules == ["silver-rule"]
    d = rs.decide({"x": 5, "minor": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["bronze"]


def test_first_mode_stops_early_so_a_later_failing_rule_is_never_evaluated(explain):
    rs = compile_rs(FIRST)
    d = rs.decide({"x": 5, "minor": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["bronze"]
    assert d.warnings == []  # broken-rule (priority 5 < 10) would divide by zero
    if explain:
        t = trace(d)
        assert t["broken-rule"]["status"] == "skipped"
        assert t["broken-rule"]["message"] == "policy mode 'first': rule 'bronze-rule' already won"
        assert t["gold-rule"]["status"] == "not_matched"
        assert t["silver-rule"]["status"] == "not_matched"
        assert t["bronze-rule"]["status"] == "matched"


def test_first_mode_reaches_the_failing_rule_when_nothing_above_matches(explain):
    rs = compile_rs(FIRST)
    d = rs.decide({"x": -1, "minor": False}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["basic"] and d.actions[0].fallback is True
    assert len(d.warnings) == 1 and "division by zero" in d.warnings[0]
    if explain:
        assert trace(d)["broken-rule"]["status"] == "error"


def test_first_mode_always_evaluates_suppress_only_rules(explain):
    rs = compile_rs(FIRST)
    # the winner is suppressed: nothing survives, and the runner-up does not step in
    d = rs.decide({"x": 500, "minor": True}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == ["no-marketing-minors", "gold-rule"]
    assert d.suppressed == [Suppression("gold", "no-marketing-minors", "eligibility.minor")]
    assert ids(d) == ["basic"] and d.actions[0].fallback is True
    # a suppress-only rule with the lowest priority is still evaluated
    d = rs.decide({"x": 50, "minor": False}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == ["silver-rule", "late-suppressor"]
    assert d.suppressed == [Suppression("silver", "late-suppressor", "fifty")]
    if explain:
        t = trace(d)
        assert t["late-suppressor"]["status"] == "matched"
        assert t["no-marketing-minors"]["status"] == "not_matched"
        assert t["gold-rule"]["status"] == "not_matched"
        assert t["bronze-rule"]["status"] == "skipped"


def test_first_mode_without_suppress_rules_stops_early_too(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: low
            when: x > 0
            priority: 1
            then: low
          - id: broken
            when: 1 / (x - x) > 0
            priority: 5
            then: broken
          - id: high
            when: x > 10
            priority: 9
            then: high
        policy: {mode: first}
    """)
    d = rs.decide({"x": 20}, as_of=AS_OF, explain=explain)
    assert (ids(d), d.matched_rules, d.warnings) == (["high"], ["high"], [])
    d = rs.decide({"x": 5}, as_of=AS_OF, explain=explain)   # high fails, broken errs, low wins
    assert (ids(d), d.matched_rules) == (["low"], ["low"])
    assert len(d.warnings) == 1 and "division by zero" in d.warnings[0]
    if explain:
        assert [(e["rule"], e["status"]) for e in d.explanation["rules"]] == [
            ("low", "matched"), ("broken", "error"), ("high", "not_matched")]


def test_first_mode_ties_break_by_file_order(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: one
            when: true
            priority: 10
            then: a
          - id: two
            when: true
            priority: 10
            then: b
        policy: {mode: first}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["a"] and d.matched_rules == ["one"]


def test_first_mode_with_dynamic_priorities(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: fixed
            when: true
            priority: 10
            then: a
          - id: dynamic
            when: true
            priority: '=x'
            then: b
        policy: {mode: first}
    """)
    assert ids(rs.decide({"x": 5}, as_of=AS_OF, explain=explain)) == ["a"]
    assert ids(rs.decide({"x": 15}, as_of=AS_OF, explain=explain)) == ["b"]


def test_first_mode_a_non_winning_rule_with_then_and_suppress_proposes_nothing(explain):
    """Only the first matching rule proposes, even if a later one also has `suppress`."""
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: win
            when: x > 0
            priority: 10
            then: a
          - id: both
            when: x > 0
            priority: 5
            then: b
            suppress: {actions: [c]}
        policy: {mode: first}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["a"]


# -- enabled and effective windows ------------------------------------------------------------------

def test_a_disabled_rule_never_matches(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: switched-off
            enabled: false
            when: true
            priority: 100
            then: a
          - id: off-suppressor
            enabled: false
            when: true
            suppress: {actions: [b]}
          - id: switched-on
            enabled: true
            when: true
            then: b
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=explain)
    assert ids(d) == ["b"] and d.matched_rules == ["switched-on"] and d.suppressed == []
    if explain:
        t = trace(d)
        assert t["switched-off"]["status"] == "disabled"
        assert t["switched-off"]["message"] == "the rule is disabled (enabled: false)"
        assert t["off-suppressor"]["status"] == "disabled"


def test_a_disabled_rule_never_matches_in_a_ruleset_without_suppression(explain):
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        rules:
          - id: switched-off
            enabled: false
            when: x > 0
            then: a
          - id: switched-on
            when: x > 0
            then: b
        defaults: [c]
    """)
    assert ids(rs.decide({"x": 1}, as_of=AS_OF, explain=explain)) == ["b"]
    assert ids(rs.decide({"x": 0}, as_of=AS_OF, explain=explain)) == ["c"]


def test_a_disabled_rule_must_still_compile():
    with pytest.raises(rules_engine.RulesetError) as info:
        compile_rs("""
            ruleset: t
            context: {x: number}
            rules:
              - id: switched-off
                enabled: false
                when: y > 1
                then: a
        """)
    assert [(d.code, d.line, d.col) for d in info.value.diagnostics] == [("E-UNKNOWN-FIELD", 6, 11)]


WINDOW = """
ruleset: t
context: {x: number}
rules:
  - id: black-friday
    effective: {from: 2026-11-20T00:00:00Z, until: 2026-12-01T00:00:00Z}
    when: true
    then: bf
  - id: from-only
    effective: {from: 2026-11-22T10:00:00+01:00}
    when: true
    then: f
  - id: until-only
    effective: {until: 2026-11-22T10:00:00Z}
    when: true
    then: u
"""


@pytest.mark.parametrize("as_of, expected", [
    ("2026-11-19T23:59:59Z", ["u"]),
    ("2026-11-20T00:00:00Z", ["bf", "u"]),          # from is inclusive
    ("2026-11-22T08:59:59Z", ["bf", "u"]),
    ("2026-11-22T09:00:00Z", ["bf", "f", "u"]),     # 10:00+01:00 is 09:00Z
    ("2026-11-22T10:00:00Z", ["bf", "f"]),          # until is exclusive
    ("2026-11-30T23:59:59.999999Z", ["bf", "f"]),
    ("2026-12-01T00:00:00Z", ["f"]),
    ("2026-12-01T01:00:00+01:00", ["f"]),           # the same instant, another offset
])
def test_effective_windows_from_inclusive_until_exclusive(as_of, expected, explain):
    rs = compile_rs(WINDOW)
    clock = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
    d = rs.decide({"x": 1}, as_of=clock, explain=explain)
    assert ids(d) == expected
    if explain:
        t = trace(d)
        assert t["black-friday"]["status"] == ("matched" if "bf" in expected else "out_of_window")


def test_out_of_window_explanation():
    rs = compile_rs(WINDOW)
    d = rs.decide({"x": 1}, as_of=dt.datetime(2026, 12, 1, tzinfo=UTC), explain=True)
    t = trace(d)["black-friday"]
    assert t["status"] == "out_of_window"
    assert t["message"] == "the clock 2026-12-01T00:00:00+00:00 is outside the rule's effective window"


# -- the clock --------------------------------------------------------------------------------------

def test_today_and_now_read_as_of_not_the_wall_clock(explain):
    rs = compile_rs("""
        ruleset: t
        context:
          customer: {birthday: date, last_seen: datetime}
        rules:
          - id: birthday
            when: customer.birthday = today()
            then: [{action: cake, params: {day: '=today()', at: '=now()'}}]
          - id: seen-this-hour
            when: customer.last_seen > now() - duration("PT1H")
            then: hello
    """)
    ctx = {"customer": {"birthday": "2031-02-03", "last_seen": "2031-02-03T11:30:00+01:00"}}
    clock = dt.datetime(2031, 2, 3, 11, 0, tzinfo=UTC)
    d = rs.decide(ctx, as_of=clock, explain=explain)
    assert d.as_of == clock
    assert d.to_dict()["as_of"] == "2031-02-03T11:00:00Z"
    assert ids(d) == ["cake", "hello"]
    assert d.actions[0].params == {"day": "2031-02-03", "at": "2031-02-03T11:00:00Z"}
    d = rs.decide(ctx, as_of=dt.datetime(2031, 2, 3, 11, 30, 1, tzinfo=UTC), explain=explain)
    assert ids(d) == ["cake"]
    d = rs.decide(ctx, as_of=dt.datetime(2031, 2, 4, 0, 0, tzinfo=UTC), explain=explain)
    assert ids(d) == []


def test_the_same_inputs_give_the_same_decision(explain):
    rs = compile_rs(SUPPRESSION)
    ctx = {"minor": True, "opt_out": True, "quiet": False}
    a = rs.decide(ctx, as_of=AS_OF, explain=explain).to_dict()
    b = rs.decide(ctx, as_of=AS_OF, explain=explain).to_dict()
    assert a["decision_id"] != b["decision_id"]
    assert comparable(a) == comparable(b)


# -- segments ---------------------------------------------------------------------------------------

SEGMENTS = """
ruleset: t
context:
  customer:
    ltv: number
    tier: enum(gold, platinum, basic)
    visits: number
segments:
  high_value: customer.ltv >= 5000
  vip: high_value and customer.tier in ("gold", "platinum")
  # fails at run time (division by zero) when visits is 0
  fragile: customer.ltv / customer.visits > 100
rules:
  - id: vip-offer
    when: vip
    then: vip_offer
  - id: high-value-call
    when: high_value and not(vip)
    then: call
  - id: f1
    when: fragile
    then: f1
  - id: f2
    when: fragile and vip
    then: f2
  - id: f3
    when: not(fragile) or vip
    then: f3
"""


def test_segments_are_reusable_by_name_in_rules_and_other_segments(explain):
    rs = compile_rs(SEGMENTS)
    d = rs.decide({"customer": {"ltv": 6000, "tier": "gold", "visits": 10}}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == ["vip-offer", "f1", "f2", "f3"]
    d = rs.decide({"customer": {"ltv": 6000, "tier": "basic", "visits": 100}}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == ["high-value-call", "f3"]


def test_a_segment_is_evaluated_at_most_once_per_decision(explain):
    # Counting trick: `fragile` divides by zero. Three rules read it; had it been evaluated three
    # times, the decision would carry three division-by-zero warnings.
    rs = compile_rs(SEGMENTS)
    d = rs.decide({"customer": {"ltv": 6000, "tier": "gold", "visits": 0}}, as_of=AS_OF, explain=explain)
    assert d.matched_rules == ["vip-offer", "f3"]   # fragile is null: f1, f2 do not match; `null or true`
    assert len(d.warnings) == 1, d.warnings
    assert d.warnings[0].startswith("x.yaml:11:12: division by zero")
    # and once per decision, not once per ruleset: the next decision evaluates it afresh
    d2 = rs.decide({"customer": {"ltv": 6000, "tier": "gold", "visits": 0}}, as_of=AS_OF, explain=explain)
    assert len(d2.warnings) == 1
    d3 = rs.decide({"customer": {"ltv": 6000, "tier": "gold", "visits": 1}}, as_of=AS_OF, explain=explain)
    assert d3.warnings == [] and d3.matched_rules == ["vip-offer", "f1", "f2", "f3"]


def test_segment_cache_seen_in_the_generated_code():
    rs = compile_rs(SEGMENTS)
    src = rs._unit.source
    # each segment is a function that caches its value in the per-decision state
    assert len(re.findall(r"^def S\d+\(_s, _v\):\n    c = _s.cache\n", src, re.M)) == 3


def test_segment_values_appear_in_the_explanation():
    rs = compile_rs(SEGMENTS)
    d = rs.decide({"customer": {"ltv": 100, "tier": "gold", "visits": 1}}, as_of=AS_OF, explain=True)
    t = trace(d)["vip-offer"]
    assert t["status"] == "not_matched"
    assert t["condition"] == "vip"
    assert t["values"] == {"vip": False}


# -- run-time errors stay inside one rule -----------------------------------------------------------

ERRORS = """
ruleset: t
context:
  customer: {visits: number, spend: number, joined_text: string}
rules:
  - id: avg-spend
    when: customer.spend / customer.visits > 100
    then: big_spender
  - id: joined-early
    when: date(customer.joined_text) < @"2020-01-01"
    then: loyalty
  - id: always
    when: customer.spend >= 0
    then: hello
"""


def test_a_run_time_error_fails_only_its_rule(explain):
    rs = compile_rs(ERRORS)
    d = rs.decide({"customer": {"visits": 0, "spend": 500, "joined_text": "last spring"}}, as_of=AS_OF,
                  explain=explain)
    assert ids(d) == ["hello"]
    assert d.matched_rules == ["always"]
    assert len(d.warnings) == 2
    assert d.warnings[0].startswith("x.yaml:6:11: division by zero")
    assert d.warnings[1].startswith("x.yaml:9:11: ")
    assert "last spring" in d.warnings[1]
    if explain:
        t = trace(d)
        assert t["avg-spend"]["status"] == "error"
        assert "division by zero" in t["avg-spend"]["message"]
        assert t["avg-spend"]["message"].startswith("x.yaml:6:11:")
        assert t["avg-spend"]["values"] == {"customer.spend": 500, "customer.visits": 0}
        assert t["joined-early"]["status"] == "error"
        assert "last spring" in t["joined-early"]["message"]
        assert t["joined-early"]["values"] == {"customer.joined_text": "last spring"}
        assert t["always"]["status"] == "matched"
        assert d.explanation["warnings"] == d.warnings


def test_the_same_rules_match_when_the_data_is_good(explain):
    rs = compile_rs(ERRORS)
    d = rs.decide({"customer": {"visits": 2, "spend": 500, "joined_text": "2019-05-01"}}, as_of=AS_OF,
                  explain=explain)
    assert d.matched_rules == ["avg-spend", "joined-early", "always"]
    assert d.warnings == []


# -- decide_many -------------------------------------------------------------------------------------

def test_decide_many_equals_decide_one_by_one(explain):
    rs = compile_rs(SUPPRESSION.replace("adviser_call: {", "fallback_action: {}\n  adviser_call: {") + "defaults: [fallback_action]\n")
    contexts = [{"minor": m, "opt_out": o, "quiet": q} for m in (False, True) for o in (False, True)
                for q in (False, True)]
    many = rs.decide_many(contexts, as_of=AS_OF, explain=explain)
    one = [rs.decide(c, as_of=AS_OF, explain=explain) for c in contexts]
    assert len(many) == len(contexts)
    assert [comparable(d.to_dict()) for d in many] == [comparable(d.to_dict()) for d in one]
    assert len({d.decision_id for d in many}) == len(many)


def test_decide_many_validates_every_context():
    rs = compile_rs(SUPPRESSION)
    with pytest.raises(ContextError) as info:
        rs.decide_many([{"minor": False, "opt_out": False, "quiet": False}, {"minor": "no"}], as_of=AS_OF)
    assert info.value.path == "minor"


# -- Decision.to_dict ---------------------------------------------------------------------------------

def test_to_dict_has_the_fields_of_the_grpc_response():
    text = textwrap.dedent("""\
        ruleset: shop.offers
        version: "2026.11.1"
        context: {x: number}
        actions:
          offer: {group: offers, priority: 10, tags: [m]}
        rules:
          - id: give
            when: x > 0
            then: [{action: offer, params: {code: A, pct: '=x / 4'}}]
            reason: r.give
          - id: take
            when: x > 5
            suppress: {tags: [m]}
            reason: r.take
    """)
    rs = rules_engine.compile_ruleset_text(text, filename="shop.yaml")
    d = rs.decide({"x": 1}, as_of=AS_OF).to_dict()
    assert set(d) == {"decision_id", "ruleset", "version", "ruleset_hash", "as_of", "actions", "matched_rules",
                      "suppressed"}
    assert len(d["decision_id"]) >= 16
    assert d["ruleset"] == "shop.offers"
    assert d["version"] == "2026.11.1"
    assert d["ruleset_hash"] == hashlib.sha256(text.encode()).hexdigest()
    assert d["as_of"] == "2026-11-22T10:00:00Z"
    assert d["actions"] == [{"action": "offer", "params": {"code": "A", "pct": 0.25}, "rule": "give",
                             "priority": 10.0, "group": "offers", "reason": "r.give", "fallback": False}]
    assert d["matched_rules"] == ["give"]
    assert d["suppressed"] == []
    assert json.loads(json.dumps(d)) == d
    d = rs.decide({"x": 9}, as_of=AS_OF, explain=True).to_dict()
    assert d["actions"] == []
    assert d["suppressed"] == [{"action": "offer", "rule": "take", "reason": "r.take"}]
    assert set(d["explanation"]) == {"rules", "dropped", "warnings"}
    assert json.loads(json.dumps(d)) == d


def test_version_is_empty_without_a_label_and_the_hash_changes_with_the_text():
    a = compile_rs(MATCHING)
    b = compile_rs(MATCHING + "# a comment\n")
    assert a.version == "" and a.name == "t"
    assert a.hash != b.hash and len(a.hash) == 64


# -- explanations --------------------------------------------------------------------------------------

EXPLAIN = """
ruleset: t
context:
  customer:
    tier: enum(gold, silver)
    age: number
    nps: number?
  channel: string
rules:
  - id: gold-adults
    description: Gold adults on the web
    tags: [demo]
    when: >-
      customer.age >= 18
      and customer.tier = "gold"
      and channel = "web"
    then: a
  - id: switched-off
    enabled: false
    when: true
    then: b
  - id: promoter
    when: customer.nps >= 9
    then: c
  - id: hello
    when: true
    then: d
"""


def test_every_rule_is_in_the_explanation_in_file_order():
    rs = compile_rs(EXPLAIN)
    d = rs.decide({"customer": {"tier": "silver", "age": 40}, "channel": "web"}, as_of=AS_OF, explain=True)
    rules = d.explanation["rules"]
    assert [(r["rule"], r["status"]) for r in rules] == [
        ("gold-adults", "not_matched"), ("switched-off", "disabled"), ("promoter", "not_matched"), ("hello", "matched")]
    first = rules[0]
    assert first["description"] == "Gold adults on the web"
    assert first["tags"] == ["demo"]
    # the first false-or-null sub-condition, and the values it read
    assert first["condition"] == 'customer.tier = "gold"'
    assert first["values"] == {"customer.tier": "silver"}
    assert rules[3] == {"rule": "hello", "status": "matched", "condition": "", "values": {}, "message": ""}


def test_the_first_false_sub_condition_is_reported_not_a_later_one():
    rs = compile_rs(EXPLAIN)
    d = rs.decide({"customer": {"tier": "silver", "age": 12}, "channel": "app"}, as_of=AS_OF, explain=True)
    t = trace(d)["gold-adults"]
    assert t["condition"] == "customer.age >= 18"
    assert t["values"] == {"customer.age": 12}
    d = rs.decide({"customer": {"tier": "gold", "age": 40}, "channel": "app"}, as_of=AS_OF, explain=True)
    t = trace(d)["gold-adults"]
    assert t["condition"] == 'channel = "web"'
    assert t["values"] == {"channel": "app"}


def test_a_null_sub_condition_is_reported_with_its_null_value():
    rs = compile_rs(EXPLAIN)
    d = rs.decide({"customer": {"tier": "gold", "age": 40}, "channel": "web"}, as_of=AS_OF, explain=True)
    t = trace(d)["promoter"]
    assert t["status"] == "not_matched"
    assert t["condition"] == "customer.nps >= 9"
    assert t["values"] == {"customer.nps": None}
    assert trace(d)["gold-adults"]["status"] == "matched"


def test_values_read_through_lists_and_segments():
    rs = compile_rs("""
        ruleset: t
        context:
          customer: {tier: string, birth_date: date}
          purchases: "list({amount: number})"
        segments:
          big: sum(purchases.amount) > 100
        rules:
          - id: r
            when: customer.birth_date.year < 2000 and big and count(purchases[item.amount > 50]) > 0
            then: a
    """)
    ctx = {"customer": {"tier": "x", "birth_date": "1990-05-01"}, "purchases": [{"amount": 10}, {"amount": 20}]}
    t = trace(rs.decide(ctx, as_of=AS_OF, explain=True))["r"]
    assert (t["condition"], t["values"]) == ("big", {"big": False})
    ctx["purchases"] = [{"amount": 40}, {"amount": 45}, {"amount": 30}]
    t = trace(rs.decide(ctx, as_of=AS_OF, explain=True))["r"]
    assert t["condition"] == "count(purchases[item.amount > 50]) > 0"
    assert t["values"] == {"purchases": [{"amount": 40}, {"amount": 45}, {"amount": 30}]}
    ctx["customer"]["birth_date"] = "2001-01-01"
    t = trace(rs.decide(ctx, as_of=AS_OF, explain=True))["r"]
    assert t["condition"] == "customer.birth_date.year < 2000"
    assert t["values"] == {"customer.birth_date.year": 2001}


def test_no_explanation_unless_asked():
    rs = compile_rs(EXPLAIN)
    d = rs.decide({"customer": {"tier": "gold", "age": 40}, "channel": "web"}, as_of=AS_OF)
    assert d.explanation is None
    assert "explanation" not in d.to_dict()


def test_explanation_lists_candidates_dropped_by_suppression_and_groups():
    rs = compile_rs("""
        ruleset: t
        context: {x: number}
        actions:
          a: {group: offer, priority: 30, tags: [m]}
          b: {group: offer, priority: 20}
          c: {group: offer, priority: 10}
        rules:
          - id: propose
            when: true
            then: [a, b, c]
          - id: no-m
            when: true
            suppress: {tags: [m]}
            reason: no.m
        policy:
          groups: {offer: {max: 1}}
    """)
    d = rs.decide({"x": 1}, as_of=AS_OF, explain=True)
    assert ids(d) == ["b"]
    assert d.explanation["dropped"] == [
        {"action": "a", "rule": "propose", "group": "offer", "reason": "suppressed by rule 'no-m' (no.m)"},
        {"action": "c", "rule": "propose", "group": "offer",
         "reason": "group 'offer' keeps at most 1: lost to higher-priority b"},
    ]


def test_explain_does_not_change_the_decision():
    for text, ctx in [(SUPPRESSION, {"minor": True, "opt_out": True, "quiet": True}),
                      (FIRST, {"x": 50, "minor": False}), (SEGMENTS, {"customer": {"ltv": 6000, "tier": "gold", "visits": 0}}),
                      (ERRORS, {"customer": {"visits": 0, "spend": 1, "joined_text": "x"}})]:
        rs = compile_rs(text)
        plain = comparable(rs.decide(ctx, as_of=AS_OF).to_dict())
        explained = comparable(rs.decide(ctx, as_of=AS_OF, explain=True).to_dict())
        explained.pop("explanation")
        assert plain == explained


def test_fast_built_actions_are_the_same_frozen_values():
    import dataclasses

    from rules_engine.decision import Action
    args = ("offer", {"d": 1}, "r1", 50.0, "g", "why", True)
    fast, slow = Action._make(*args), Action(*args)
    assert fast == slow and hash(fast.action) == hash(slow.action) and repr(fast) == repr(slow)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow) and fast.to_dict() == slow.to_dict()
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.action = "other"


def test_typed_arithmetic_that_overflows_warns_in_feel_words():
    """Typed arithmetic skips the runtime's checks; a decimal signal it raises is still reported
    as the runtime would report it, never as a Python exception's repr."""
    rs = rules_engine.compile_ruleset_text(
        "ruleset: t\ncontext: {c: {x: number}}\nrules:\n  - id: r\n    when: c.x * c.x > 1\n    then: [a]\n"
        "  - id: q\n    when: c.x > 1\n    then: [{action: b, params: {v: \"=c.x * c.x\"}}]\n", filename="t.yaml")
    d = rs.decide({"c": {"x": "1e5000"}}, as_of=AS_OF)
    assert d.matched_rules == ["q"] and d.actions[0].params == {"v": None}
    assert d.warnings == ["rule 'r': number too large (beyond 34-digit decimal range)",
                          "param 'v' of action 'b': number too large (beyond 34-digit decimal range)"]
    explained = rs.decide({"c": {"x": "1e5000"}}, as_of=AS_OF, explain=True).explanation
    assert explained["rules"][0]["status"] == "error"
    assert explained["rules"][0]["message"] == "number too large (beyond 34-digit decimal range)"


def test_remembered_outcomes_give_the_decisions_the_six_steps_give():
    """A ruleset remembers the outcome of steps 2-6 per set of matched rules when it cannot depend
    on the context (literal actions). Every example decision made from that memo must equal the
    one made without it, and a caller changing its decision's lists must not change the next one."""
    from pathlib import Path

    import yaml
    root = Path(__file__).resolve().parent.parent / "rulesets"
    remembered = dependent = 0
    for test_file in sorted(root.glob("*/*.test.yaml")):
        rs = rules_engine.compile_ruleset(test_file.with_name(test_file.name.replace(".test.yaml", ".yaml")))
        contexts = [json.loads(json.dumps(c["context"], default=str)) for c in yaml.safe_load(test_file.read_text())["cases"]
                    if isinstance(c.get("context"), dict)]
        for ctx in contexts:
            try:
                rs._outcomes.clear()
                first = rs.decide(ctx, as_of=AS_OF)
            except ContextError:
                continue
            want = (first.to_dict(), first.warnings)
            remembered += sum(1 for v in rs._outcomes.values() if v)
            dependent += sum(1 for v in rs._outcomes.values() if v is False)
            first.actions.append("changed")
            first.matched_rules.clear()
            again = rs.decide(ctx, as_of=AS_OF)  # from the memo when the outcome was literal
            got = again.to_dict()
            assert (dict(got, decision_id=want[0]["decision_id"]), again.warnings) == want, test_file.name
    assert remembered > 10 and dependent > 10  # both kinds of matched sets occur in the examples


def test_remembered_outcomes_compute_their_params_for_each_context():
    """An outcome remembered with computed params (retail's winback greeting) gives each context
    its own params: decisions made with the memo warm equal those made with it cleared."""
    from pathlib import Path

    import yaml
    root = Path(__file__).resolve().parent.parent / "rulesets"
    greetings = set()
    keys: dict = {}
    for test_file in sorted(root.glob("*/*.test.yaml")):
        rs = rules_engine.compile_ruleset(test_file.with_name(test_file.name.replace(".test.yaml", ".yaml")))
        contexts = [json.loads(json.dumps(c["context"], default=str)) for c in yaml.safe_load(test_file.read_text())["cases"]
                    if isinstance(c.get("context"), dict)]
        # every context again under other names: same matched rules, other computed params
        contexts += [json.loads(json.dumps(c).replace('"first_name": "', '"first_name": "Dr ')) for c in contexts]
        as_of = yaml.safe_load(test_file.read_text()).get("as_of") or AS_OF  # the clock the cases are written for
        rs._outcomes.clear()
        for ctx in contexts:
            try:
                warm = rs.decide(ctx, as_of=as_of)
            except ContextError:
                continue
            saved = dict(rs._outcomes)
            rs._outcomes.clear()
            cold = rs.decide(ctx, as_of=as_of)
            rs._outcomes.update(saved)
            assert ({**warm.to_dict(), "decision_id": ""}, warm.warnings) == ({**cold.to_dict(), "decision_id": ""}, cold.warnings)
            greetings.update(a.params["greeting"] for a in warm.actions if "greeting" in a.params)
            if warm.outcome_key is not None:  # one key, one outcome
                seen = keys.setdefault(id(warm.outcome_key), (warm.outcome_key, warm.actions, warm.matched_rules,
                                                             warm.suppressed))
                assert seen[0] is warm.outcome_key and seen[1:] == (warm.actions, warm.matched_rules, warm.suppressed)
                assert all(x is y for x, y in zip(seen[1], warm.actions))
        if rs.name == "retail.treatment":
            assert any(v and v[3] for v in rs._outcomes.values())  # outcomes with computed params were remembered
    assert len(greetings) >= 3, greetings  # "Welcome back, Ana!", "Welcome back, Dr Ana!", ...
    assert len(keys) > 5
