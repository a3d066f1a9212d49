"""Memory algorithms: episodic ingestion, retrieval, HEMA, MemoryBank, Think-in-Memory."""
