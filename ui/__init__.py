"""Engram's widgets and view models. Everything here calls core services; nothing here touches
SQLite, Chroma or llama.cpp directly, and long work never runs on the GUI thread."""
