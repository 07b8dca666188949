"""The one base class for problems a user can fix; every front end shows them as one line."""

from __future__ import annotations


class UserError(Exception):
    """Bad input, settings or state that the user can fix; the message says what was wrong and what to do.

    The CLI prints it as one line on stderr and exits with status 1 (`bot/exit_codes.py`); the Discord
    bot shows it as an ephemeral message."""
