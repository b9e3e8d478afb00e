"""The main area (blueprint in views.py)."""
