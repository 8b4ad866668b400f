"""Alembic revisions; each file is frozen once released (never edit, add a new one)."""
