"""Contexts are validated against the ruleset's schema before anything is evaluated.

A context that breaks the schema raises `rules_engine.ContextError` naming the field path and what
was expected; extra fields are ignored; optional fields may be missing or null.
"""
from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest

import rules_engine
from rules_engine import ContextError

AS_OF = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)

RULESET = """\
ruleset: shop
context:
  customer:
    id: string
    tier: enum(gold, silver, basic)
    age: number
    birth_date: date
    last_login: datetime
    quiet_from: time?
    notice: duration?
    opt_in: boolean
    nps: number?
    nickname: string?
    segments: list(string)
    address:
      city: string
      zip: string?
  purchases: "list({sku: string, amount: number, at: date?})"
rules:
  - id: big-spender
    when: sum(purchases.amount) > 100
    then: [{action: thanks, params: {total: '=sum(purchases.amount)'}}]
  - id: quiet
    when: customer.quiet_from = null
    then: ask_quiet_hours
"""


@pytest.fixture(scope="module")
def rs():
    return rules_engine.compile_ruleset_text(RULESET, filename="shop.yaml")


GOOD = {
    "customer": {
        "id": "c-1", "tier": "gold", "age": 42, "birth_date": "1984-02-29", "last_login": "2026-11-21T08:00:00Z",
        "opt_in": True, "segments": ["a", "b"], "address": {"city": "Lyon"},
    },
    "purchases": [{"sku": "A", "amount": 10}, {"sku": "B", "amount": 20.5}, {"sku": "C", "amount": 99.99}],
}


def broken(change) -> dict:
    ctx = copy.deepcopy(GOOD)
    change(ctx)
    return ctx


def error(rs, ctx) -> ContextError:
    with pytest.raises(ContextError) as info:
        rs.decide(ctx, as_of=AS_OF)
    return info.value


def test_a_good_context_decides(rs):
    d = rs.decide(GOOD, as_of=AS_OF)
    assert [a.action for a in d.actions] == ["thanks", "ask_quiet_hours"]
    assert d.actions[0].params == {"total": 130.49}


def test_context_error_is_a_value_error_with_path_and_expected(rs):
    e = error(rs, broken(lambda c: c["customer"].update(tier="platinum")))
    assert isinstance(e, ValueError)
    assert e.path == "customer.tier"
    assert e.expected == "enum(gold, silver, basic)"
    assert e.got == "string 'platinum'"
    assert str(e) == "customer.tier: expected enum(gold, silver, basic), got string 'platinum'"


@pytest.mark.parametrize("change, message", [
    # wrong types
    (lambda c: c["customer"].update(age="forty"), "customer.age: expected number, got string 'forty'"),
    (lambda c: c["customer"].update(age=True), "customer.age: expected number, got boolean"),
    (lambda c: c["customer"].update(age=[42]), "customer.age: expected number, got a list"),
    (lambda c: c["customer"].update(id=7), "customer.id: expected string, got number 7"),
    (lambda c: c["customer"].update(opt_in="yes"), "customer.opt_in: expected boolean, got string 'yes'"),
    (lambda c: c["customer"].update(opt_in=1), "customer.opt_in: expected boolean, got number 1"),
    (lambda c: c["customer"].update(segments="a,b"), "customer.segments: expected list(string), got string 'a,b'"),
    (lambda c: c["customer"]["segments"].append(3), "customer.segments[2]: expected string, got number 3"),
    (lambda c: c["customer"].update(address="Lyon"),
     "customer.address: expected an object, got string 'Lyon'"),
    (lambda c: c["customer"]["address"].update(city=None), "customer.address.city: expected string, got null or missing"),
    # enum values
    (lambda c: c["customer"].update(tier="Gold"), "customer.tier: expected enum(gold, silver, basic), got string 'Gold'"),
    (lambda c: c["customer"].update(tier=1), "customer.tier: expected enum(gold, silver, basic), got number 1"),
    # lists of objects: the index is in the path
    (lambda c: c["purchases"][2].update(amount="lots"), "purchases[2].amount: expected number, got string 'lots'"),
    (lambda c: c["purchases"][0].pop("sku"), "purchases[0].sku: expected string, got null or missing"),
    (lambda c: c["purchases"][1].update(at="2026-02-30"),
     "purchases[1].at: expected date (ISO date such as \"2026-11-22\"), got string '2026-02-30'"),
    (lambda c: c["purchases"].append("D"), "purchases[3]: expected an object, got string 'D'"),
    # missing required fields
    (lambda c: c["customer"].pop("age"), "customer.age: expected number, got null or missing"),
    (lambda c: c["customer"].pop("address"), "customer.address: expected {city: string, zip: string?}, got null or missing"),
    (lambda c: c.pop("purchases"),
     "purchases: expected list({sku: string, amount: number, at: date?}), got null or missing"),
    # temporal values
    (lambda c: c["customer"].update(last_login="2026-11-21T08:00:00"),
     "customer.last_login: expected datetime with a UTC offset (e.g. 2026-11-22T10:00:00Z), "
     "got string '2026-11-21T08:00:00'"),
    (lambda c: c["customer"].update(last_login="yesterday"),
     "customer.last_login: expected datetime (ISO date-time with offset such as \"2026-11-22T10:00:00Z\"), "
     "got string 'yesterday'"),
    (lambda c: c["customer"].update(birth_date="1984-13-01"),
     "customer.birth_date: expected date (ISO date such as \"2026-11-22\"), got string '1984-13-01'"),
    (lambda c: c["customer"].update(birth_date="29/02/1984"),
     "customer.birth_date: expected date (ISO date such as \"2026-11-22\"), got string '29/02/1984'"),
    (lambda c: c["customer"].update(birth_date=19840229),
     "customer.birth_date: expected date (ISO date such as \"2026-11-22\"), got number 19840229"),
    (lambda c: c["customer"].update(quiet_from="25:00:00"),
     "customer.quiet_from: expected time (ISO time such as \"10:00:00\"), got string '25:00:00'"),
    (lambda c: c["customer"].update(notice="90 days"),
     "customer.notice: expected duration (ISO duration such as \"P90D\" or \"P1Y2M\"), got string '90 days'"),
    # numbers that are not numbers
    (lambda c: c["customer"].update(age=float("nan")), "customer.age: expected a finite number, got number nan"),
    (lambda c: c["customer"].update(age="NaN"), "customer.age: expected number, got string 'NaN'"),
    (lambda c: c["customer"].update(age="12,5"), "customer.age: expected number, got string '12,5'"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None)
def test_a_broken_context_names_the_field_and_what_was_expected(rs, change, message):
    assert str(error(rs, broken(change))) == message


def test_the_context_itself_must_be_an_object(rs):
    for bad in ([GOOD], "customer", None, 5):
        e = error(rs, bad)
        assert e.path == "(context)"
        assert str(e).startswith("(context): expected a JSON object")
        assert str(e).endswith(("got a list", "got string 'customer'", "got null or missing", "got number 5"))


def test_validation_happens_before_any_rule_runs(rs):
    # the first broken field is reported; no decision is made at all
    e = error(rs, broken(lambda c: (c["customer"].update(age="x"), c["purchases"][0].update(amount="y"))))
    assert e.path == "customer.age"


def test_decimal_strings_are_accepted_for_numbers(rs):
    ctx = broken(lambda c: (c["customer"].update(age="42"),
                            c["purchases"].__setitem__(slice(None), [{"sku": "A", "amount": "19.99"},
                                                                     {"sku": "B", "amount": " 80.02 "},
                                                                     {"sku": "C", "amount": "1e1"}])))
    v = rs.validate(ctx)
    assert v["customer"]["age"] == Decimal("42")
    assert [p["amount"] for p in v["purchases"]] == [Decimal("19.99"), Decimal("80.02"), Decimal("1E+1")]
    d = rs.decide(ctx, as_of=AS_OF)
    assert d.actions[0].params == {"total": 110.01}   # exact decimal sum, not 110.00999999999999


def test_numbers_stay_exact(rs):
    ctx = broken(lambda c: c.__setitem__("purchases", [{"sku": "A", "amount": 0.1}, {"sku": "B", "amount": 0.2},
                                                       {"sku": "C", "amount": 100}]))
    assert rs.decide(ctx, as_of=AS_OF).actions[0].params == {"total": 100.3}
    v = rs.validate({**GOOD, "customer": {**GOOD["customer"], "age": 12345678901234567890}})
    assert v["customer"]["age"] == Decimal(12345678901234567890)


def test_extra_fields_are_ignored(rs):
    ctx = copy.deepcopy(GOOD)
    ctx["unknown_top"] = {"anything": [1, 2]}
    ctx["customer"]["shoe_size"] = "44"
    ctx["customer"]["address"]["planet"] = "Earth"
    ctx["purchases"][0]["colour"] = "red"
    d = rs.decide(ctx, as_of=AS_OF)
    assert [a.action for a in d.actions] == ["thanks", "ask_quiet_hours"]
    v = rs.validate(ctx)
    assert "unknown_top" not in v and "shoe_size" not in v["customer"] and "colour" not in v["purchases"][0]


def test_optional_fields_may_be_missing_or_null(rs):
    missing = copy.deepcopy(GOOD)
    nulls = copy.deepcopy(GOOD)
    nulls["customer"].update(quiet_from=None, notice=None, nps=None, nickname=None)
    nulls["customer"]["address"]["zip"] = None
    nulls["purchases"][0]["at"] = None
    for ctx in (missing, nulls):
        v = rs.validate(ctx)
        assert v["customer"]["quiet_from"] is None and v["customer"]["nps"] is None
        assert v["customer"]["address"]["zip"] is None and v["purchases"][0]["at"] is None
        d = rs.decide(ctx, as_of=AS_OF)
        assert "ask_quiet_hours" in [a.action for a in d.actions]


def test_temporal_values_are_converted(rs):
    ctx = broken(lambda c: c["customer"].update(last_login="2026-11-21T08:00:00+02:00", quiet_from="22:30:00",
                                                notice="P90D"))
    v = rs.validate(ctx)["customer"]
    assert v["birth_date"] == dt.date(1984, 2, 29)
    assert v["last_login"] == dt.datetime(2026, 11, 21, 6, 0, tzinfo=dt.timezone.utc)
    assert v["last_login"].utcoffset() == dt.timedelta(hours=2)
    assert v["quiet_from"] == dt.time(22, 30)
    assert v["notice"] == dt.timedelta(days=90)


def test_python_temporal_values_are_accepted_too(rs):
    ctx = broken(lambda c: c["customer"].update(birth_date=dt.date(1984, 2, 29),
                                                last_login=dt.datetime(2026, 11, 21, 8, tzinfo=dt.timezone.utc)))
    rs.decide(ctx, as_of=AS_OF)
    naive = broken(lambda c: c["customer"].update(last_login=dt.datetime(2026, 11, 21, 8)))
    assert error(rs, naive).path == "customer.last_login"


def test_context_errors_in_decide_many_name_the_field(rs):
    with pytest.raises(ContextError) as info:
        rs.decide_many([GOOD, broken(lambda c: c["purchases"][1].update(sku=None))], as_of=AS_OF)
    assert info.value.path == "purchases[1].sku"


def test_year_month_and_day_time_durations_are_checked():
    rs = rules_engine.compile_ruleset_text(
        "ruleset: d\ncontext: {tenure: duration, wait: duration?}\nrules:\n"
        "  - id: r\n    when: tenure > duration(\"P1Y\")\n    then: loyal\n", filename="d.yaml")
    assert [a.action for a in rs.decide({"tenure": "P2Y3M"}, as_of=AS_OF).actions] == ["loyal"]
    assert rs.decide({"tenure": "P6M"}, as_of=AS_OF).actions == []
    with pytest.raises(ContextError) as info:
        rs.decide({"tenure": "two years"}, as_of=AS_OF)
    assert info.value.path == "tenure"


def test_converted_temporal_strings_are_remembered_within_bounds():
    from rules_engine import schema as S
    from rules_engine import typesys as T
    conv = S.converter(T.object_of([("d", S.parse_type("date")), ("t", S.parse_type("datetime"))]))
    a = conv({"d": "2026-11-22", "t": "2026-11-22T10:00:00Z"})
    b = conv({"d": "2026-11-22", "t": "2026-11-22T10:00:00Z"})
    assert a == b and a["d"] is b["d"] and a["t"] is b["t"]  # the second time from the memo
    for bad in ({"d": "2026-13-01", "t": "2026-11-22T10:00:00Z"}, {"d": "2026-11-22", "t": "2026-11-22T10:00:00"}):
        for _ in range(2):  # a rejected string is never remembered: rejected again, same message
            with pytest.raises(S.ContextError):
                conv(bad)
    for i in range(S.MEMO_SIZE + 10):  # more distinct strings than the memo holds: still converted
        day = 1 + i % 28
        assert conv({"d": f"{2000 + i // 336:04d}-{1 + (i // 28) % 12:02d}-{day:02d}",
                     "t": "2026-11-22T10:00:00Z"})["d"].day == day


def test_remembered_float_conversions_are_exact_and_bounded(rs):
    """Non-integral floats convert to the Decimal of their shortest repr through a bounded memo:
    a remembered value is the same value, and the memo stops growing at its size."""
    from rules_engine import validator
    validator._floats.clear()
    for _ in range(2):  # the second time from the memo
        d = rs.decide(broken(lambda c: c["purchases"][1].update(amount=0.1)), as_of=AS_OF)
        assert d.actions[0].params["total"] == 110.09  # 10 + 0.1 + 99.99, exactly
    assert validator._floats[0.1] == Decimal("0.1")
    for i in range(validator.FLOAT_MEMO_SIZE + 10):
        validator._exact(i + 0.5)
    assert len(validator._floats) == validator.FLOAT_MEMO_SIZE
    assert validator._exact(123456.25) == Decimal("123456.25")  # still converts when full
