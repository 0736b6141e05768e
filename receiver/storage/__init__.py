"""The SQLite file: schema and migrations, the single writer, and the read API."""
