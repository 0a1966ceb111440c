"""Helpers shared by the suites under tests/ (on sys.path through pytest's pythonpath)."""
