"""The exit statuses of every `pitwall` command (the CLI and the Discord runner); README lists the same."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    # A user error, printed as one line on stderr: bad settings or input, no index, an index built with
    # another model or damaged, no space left, a missing or rejected DISCORD_TOKEN (index/errors.py).
    ERROR = 1
    USAGE = 2  # bad arguments (argparse's own status)
    SOME_REJECTED = 3  # `index`: indexed, but some files or lines were rejected
    NOTHING_INDEXED = 4  # `index`: no article could be indexed (an empty corpus, every file rejected)
    INTERRUPTED = 130  # Ctrl-C
