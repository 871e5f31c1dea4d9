"""Errors the command line reports as one line and exit status 2 (bad input)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input: an unknown name, a file that does not load, a bad option value."""
