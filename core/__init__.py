"""Engram's core: everything that is not pixels.

Nothing in this package imports Qt; the desktop app (`ui/`) and the `engram` command
(`app/cli.py`) are two faces of the same services defined here.
"""
