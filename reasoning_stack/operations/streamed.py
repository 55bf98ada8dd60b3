"""A command whose output is shown live: long waits never block silently."""

from __future__ import annotations

from pyinfra.api import FunctionCommand, StringCommand


def run_streamed(command: str) -> None:
    """Marker name for :class:`StreamedCommand` in operation listings; the command runs on the host."""


class StreamedCommand(FunctionCommand):
    """A shell command whose output is shown live, line by line with the host's name, at any verbosity:
    long waits (image pulls, weight downloads, model loading) never block silently."""

    def __init__(self, command: str):
        super().__init__(run_streamed, (command,), {})

    def execute(self, state, host, connector_arguments) -> bool:  # type: ignore[override]
        status, _output = host.run_shell_command(StringCommand(self.args[0]), print_output=True,
                                                 **connector_arguments)
        return bool(status)
