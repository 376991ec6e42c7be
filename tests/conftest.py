"""Test set-up shared by every test package (helpers live in tests/support.py)."""
