"""Contact people at an enterprise or an institution: one form, one page for both."""
