"""Alembic migrations of our database (SQLite and PostgreSQL); run them with `cascade db upgrade`."""
