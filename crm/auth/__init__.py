"""The auth area (blueprint in views.py)."""
