"""Engram's application layer: start-up, paths, settings, logging; wires core to the UI."""
