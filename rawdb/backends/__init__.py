"""Driver adapters: one small module per driver (asyncpg for PostgreSQL, sqlite3 in a thread of its own for SQLite)."""
