"""The enterprises area (blueprint in views.py)."""
