"""The one refusal a generator makes: the existing file is not one mediastack may change."""

from __future__ import annotations


class ForeignFileError(Exception):
    """The file on disk was not written by mediastack (or cannot be read as its format):
    the writer leaves it alone and reports why (the exception's message)."""
