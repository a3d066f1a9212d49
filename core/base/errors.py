"""Errors that core raises on purpose. Each carries a message fit for a person to read."""
from __future__ import annotations


class EngramError(Exception):
    """Base class: the CLI prints str(error) on one line and exits non-zero."""


class DatabaseTooNewError(EngramError):
    pass


class MigrationError(EngramError):
    pass


class NotFoundError(EngramError):
    pass


class SettingsError(EngramError):
    pass
