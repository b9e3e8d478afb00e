"""The visits area (blueprint in views.py)."""
