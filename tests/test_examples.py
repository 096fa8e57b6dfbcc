"""The example rulesets in rulesets/: they compile cleanly and their test files pass with 100% rule
coverage, through the very runner `rules test` uses (rules_engine.testing.run_tests).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import rules_engine
from rules_engine.testing import run_tests

RULESETS = Path(__file__).resolve().parent.parent / "rulesets"
EXAMPLES = {"retail.treatment": "retail/treatment.yaml", "telco.retention": "telco/retention.yaml",
            "bank.nba": "bank/nba.yaml"}


@pytest.fixture(scope="module")
def engine():
    return rules_engine.load_directory(RULESETS)


@pytest.fixture(scope="module")
def report():
    return run_tests([RULESETS])


def test_the_three_examples_load_without_errors_or_warnings(engine):
    assert engine.errors == {}
    assert sorted(engine.rulesets) == sorted(EXAMPLES)
    for name, rel in EXAMPLES.items():
        rs = engine.rulesets[name]
        assert Path(rs.source).resolve() == (RULESETS / rel).resolve()
        assert rs.warnings == [], [d.render() for d in rs.warnings]
        assert rs.version, f"{name} carries a version label"
        assert len(rs.rules) >= 5


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_compiles_on_its_own(name):
    rs = rules_engine.compile_ruleset(RULESETS / EXAMPLES[name])
    assert rs.name == name
    assert rs.warnings == []
    assert (RULESETS / EXAMPLES[name]).with_name(Path(EXAMPLES[name]).stem + ".test.yaml").is_file()


def test_the_example_test_files_run_without_file_errors(report):
    assert [d.render() for d in report.errors] == []
    assert {Path(c.file).name for c in report.cases} == {"treatment.test.yaml", "retention.test.yaml",
                                                         "nba.test.yaml"}


def test_every_example_case_passes(report):
    failing = [f"{c.file}:{c.line}: {c.name}\n  " + "\n  ".join(c.problems) for c in report.cases if not c.passed]
    assert failing == []
    assert report.failed == 0
    assert report.passed == len(report.cases) >= 30


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_rule_of_each_example_matches_in_some_case(report, name):
    coverage = report.coverage[name]
    never = [rule for rule, hits in coverage.items() if not hits]
    assert never == []
    assert len(coverage) >= 5


def test_total_rule_coverage_is_100_percent(report):
    assert report.coverage_percent() == 100.0
    assert set(report.coverage) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_has_cases_where_rules_must_not_fire(name):
    """Showcase quality: every case expects something, and some say what must not happen."""
    from rules_engine.loader import load_yaml
    test_file = (RULESETS / EXAMPLES[name]).with_name(Path(EXAMPLES[name]).stem + ".test.yaml")
    doc = load_yaml(test_file.read_text(encoding="utf-8"), str(test_file)).to_python()
    assert doc["ruleset"] == name
    assert all(c.get("expect") for c in doc["cases"]), "every case states what it expects"
    negative = [c for c in doc["cases"] if "excludes" in c["expect"] or "not_rules" in c["expect"]]
    assert len(negative) >= 2


def test_example_decisions_are_the_same_explained_or_not(engine):
    """Replay every example case with and without `explain`: the fast path and the explained path agree."""
    from rules_engine.loader import load_yaml
    replayed = 0
    for name, rel in EXAMPLES.items():
        rs = engine.rulesets[name]
        test_file = (RULESETS / rel).with_name(Path(rel).stem + ".test.yaml")
        doc = load_yaml(test_file.read_text(encoding="utf-8"), str(test_file)).to_python()  # as the runner reads it
        for case in doc["cases"]:
            as_of = case.get("as_of", doc.get("as_of"))
            plain = rs.decide(case["context"], as_of=as_of).to_dict()
            explained = rs.decide(case["context"], as_of=as_of, explain=True).to_dict()
            explained.pop("explanation")
            plain.pop("decision_id"), explained.pop("decision_id")
            assert plain == explained, (name, case["name"])
            replayed += 1
    assert replayed >= 30
