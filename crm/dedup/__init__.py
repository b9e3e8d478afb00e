"""Duplicate records: finding candidates for a person to review, merging, and undoing a merge."""
