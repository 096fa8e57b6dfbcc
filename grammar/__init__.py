"""The FEEL grammar, shipped inside the installed package as rules_engine.grammar."""
