"""Errors skindeep raises for things a user can fix. Messages name the file and the problem."""

from __future__ import annotations


class SkinDeepError(Exception):
    """Base class for every error skindeep reports to a user."""


class InputError(SkinDeepError):
    """A file or folder the user gave cannot be used (missing, unreadable, wrong kind)."""


class OutputError(SkinDeepError):
    """A result cannot be written where the user asked (read-only folder, disk full, a folder in the way)."""
