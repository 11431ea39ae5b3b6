"""Driver adapters: one small module per driver (asyncpg, aiosqlite)."""
