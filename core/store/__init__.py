"""SQLite, the source of truth. Each table is written and read by one store here; nothing
outside this wing writes SQL (tests/core/test_architecture.py keeps it so).

- db, migrations, backup: the connection, the schema, consistent copies;
- conversations (conversations, messages), memories (memories, memory_sources,
  memory_events), retrievals, imports, jobs, purge_journal (purge_journal, tombstones).
"""
