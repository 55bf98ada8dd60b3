"""What ``status``, ``usage`` and ``bench`` print of pyinfra's SSH log: the real host-key policies of pyinfra's
connector log their lines, and the CLI says each once in its own words (issue: known_hosts noise on every run)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import paramiko
import pytest
from pyinfra.connectors.sshuserclient.client import get_missing_host_key_policy

from reasoning_stack.ssh_notes import connection_notes

KEY = paramiko.RSAKey.generate(1024)


def _meet(policy: str, hostname: str, tmp_path) -> tuple[str, str | None]:
    """pyinfra's own policy for ``policy`` meets an unknown host key; (what the CLI printed, the exception)."""
    known_hosts = tmp_path / "known_hosts"
    known_hosts.touch()
    client = SimpleNamespace(_host_keys_filename=str(known_hosts), _host_keys=paramiko.HostKeys())
    out = io.StringIO()
    failure = None
    with connection_notes(out):
        try:
            get_missing_host_key_policy(policy).missing_host_key(client, hostname, KEY)
        except paramiko.SSHException as exc:
            failure = str(exc)
    return out.getvalue(), failure


def test_checking_off_says_nothing_each_time(tmp_path):
    for _ in range(2):
        printed, failure = _meet("off", "10.0.0.5", tmp_path)
        assert (printed, failure) == ("", None)


def test_a_first_connection_is_one_note(tmp_path):
    printed, failure = _meet("accept-new", "10.0.0.5", tmp_path)
    assert failure is None
    assert printed == "note: 10.0.0.5: first SSH connection; its host key was added to known_hosts\n"
    assert "10.0.0.5" in (tmp_path / "known_hosts").read_text()  # pyinfra did add it


def test_a_refused_key_is_still_said(tmp_path):
    printed, failure = _meet("yes", "10.0.0.5", tmp_path)
    assert failure and printed == "error: No host key for 10.0.0.5 found in known_hosts\n"


def test_other_warnings_are_kept_once(capsys):
    import logging

    with connection_notes():
        for _ in range(3):
            logging.getLogger("pyinfra.connectors.ssh").warning("WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!")
    assert capsys.readouterr().err == "warning: WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\n"


@pytest.mark.parametrize("name", ["pyinfra", "paramiko"])
def test_the_loggers_are_left_as_they_were(name):
    import logging

    logger = logging.getLogger(name)
    before = (logger.propagate, logger.level, list(logger.handlers))
    with connection_notes(io.StringIO()):
        pass
    assert (logger.propagate, logger.level, list(logger.handlers)) == before
