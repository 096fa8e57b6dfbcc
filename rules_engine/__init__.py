"""rules_engine: customer-treatment business rules in YAML, FEEL expressions compiled to Python.

    rs = rules_engine.compile_ruleset("rulesets/retail/treatment.yaml")
    decision = rs.decide({"customer": {...}}, as_of=datetime(...), explain=True)
"""
from .context_json import JSONContextError
from .decision import Action, Decision, Ruleset, Suppression
from .diagnostics import CompileError, Diagnostic
from .directory import Engine, load_directory
from .expression import Expression, compile_expression
from .ruleset import RulesetError, compile_ruleset, compile_ruleset_text
from .schema import ContextError

__all__ = ["Action", "CompileError", "ContextError", "Decision", "Diagnostic", "Engine", "Expression", "JSONContextError",
           "Ruleset",
           "RulesetError", "Suppression", "compile_expression", "compile_ruleset", "compile_ruleset_text",
           "load_directory"]
