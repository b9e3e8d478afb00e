"""Exports: what a list shows, as a file laid out like the import templates (so it re-imports)."""
