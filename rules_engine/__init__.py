"""rules_engine: customer-treatment business rules in YAML, FEEL expressions compiled to Python."""
