"""Run the decision service: `python server.py` serves rulesets/ on 127.0.0.1:50051.

Takes the same options as `rules serve` (--rulesets DIR, --addr HOST:PORT, --workers N, --reload, ...).
"""
import sys

from rules_engine.server import main

if __name__ == "__main__":
    sys.exit(main())
