"""What pyinfra's SSH connector logs while ``status``, ``usage`` and ``bench`` connect, said once in the CLI's own
words instead of as bare log lines on every run.

- ``ssh_strict_host_key_checking = "off"`` (a choice the operator made) logs "No host key ... found in known_hosts"
  on every connection: left out.
- ``"accept-new"`` (pyinfra's default) logs two lines the first time it meets a host: said once, as a note.
- Everything else (a refused key under ``"yes"``, a changed host key, a failed connection) is kept, as a warning
  or an error line.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
from collections.abc import Iterator
from typing import TextIO

KEY_ADDED = re.compile(r"Added host key for (?P<host>\S+) to known_hosts")
KEY_MISSING = re.compile(r"^No host key for \S+ found in known_hosts(, accepting & adding to host keys file)?$")
LOGGERS = ("pyinfra", "paramiko")


def note_for(record: logging.LogRecord) -> str | None:
    """The line the CLI prints for one log record, or None for one that only repeats what the operator chose."""
    message = record.getMessage().strip()
    if added := KEY_ADDED.search(message):
        return f"note: {added['host']}: first SSH connection; its host key was added to known_hosts"
    if KEY_MISSING.match(message) and record.levelno < logging.ERROR:
        return None  # checking off, or accept-new about to add it (the note above)
    if not message:
        return None
    return f"{'error' if record.levelno >= logging.ERROR else 'warning'}: {message}"


class _Notes(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = note_for(record)
        if line and line not in self.lines:
            self.lines.append(line)


@contextlib.contextmanager
def connection_notes(stream: TextIO | None = None) -> Iterator[list[str]]:
    """Collect pyinfra's and paramiko's warnings while connecting; print each distinct one once, at the end."""
    handler = _Notes()
    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [(logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False  # not Python's last-resort printer too
        if logger.level == logging.NOTSET or logger.level > logging.WARNING:
            logger.setLevel(logging.WARNING)
    try:
        yield handler.lines
    finally:
        for logger, (propagate, level) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
        for line in handler.lines:
            print(line, file=stream or sys.stderr)
