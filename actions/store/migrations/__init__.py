"""Alembic migrations of the store (a package so installs ship them)."""
