"""Errors the command line reports as one line: bad input (exit status 2) and internal errors (4)."""

from __future__ import annotations


class UserError(Exception):
    """Bad input: an unknown name, a file that does not load, a bad option value."""


class InternalError(Exception):
    """A bug of vmacheck itself (exit status 4): the message names variant, scenario and step."""
