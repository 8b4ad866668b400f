"""Alembic environment and revisions of the profile store, run by ``profiles.db.upgrade``."""
