"""The vector index, rebuilt from SQLite at any time: the embedder, the Chroma collection and
the erasure of vectors, the sync that keeps the index in step with the stores, and the worker
process that holds torch and Chroma for the desktop app.
"""
