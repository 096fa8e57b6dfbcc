"""Generated gRPC stubs for rules_engine.v1 (do not edit by hand; see tests/test_proto_stubs.py)."""
