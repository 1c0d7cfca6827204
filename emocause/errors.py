"""Errors that end a command with one readable line instead of a traceback.

Every failure a user can fix (a missing file, a missing column, a bad key, an
unknown model) is raised as :class:`UsageError`; the CLI turns it into
``error: <message>`` on stderr and exit code 2.  Anything else is a bug and is
allowed to show its traceback.
"""

from __future__ import annotations


class UsageError(Exception):
    """A problem with the user's input or configuration (exit code 2)."""

    exit_code = 2


class FatalBackendError(UsageError):
    """The model backend refuses every request (bad key, unknown model): stop at once."""
