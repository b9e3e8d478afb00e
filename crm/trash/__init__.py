"""Soft delete and the admins' recycle bin (回收站)."""
