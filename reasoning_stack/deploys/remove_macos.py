"""Take the stack off an Apple Silicon Mac: its launchd jobs and plists, virtual environments, helpers, config and
secrets, logs and status records.

    pyinfra inventories/home.py deploys/remove.py   # picks this file for a Mac

Homebrew and its Python stay (they are the Mac owner's); weights and Open WebUI's data go only when asked
(``remove_weights``, ``remove_openwebui_data``). A second run changes nothing.
"""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.files import FindFiles
from pyinfra.facts.launchd import LaunchdStatus
from pyinfra.operations import files

from reasoning_stack.context import host_settings
from reasoning_stack.launchd import LABEL_PREFIX, LAUNCHD_DIR, ROOT
from reasoning_stack.operations import launchd_job
from reasoning_stack.prepared import prepared_fact
from reasoning_stack.units import remove_stack_files


@deploy("Remove the stack from a Mac")
def remove_from_mac() -> None:
    """Take the stack off an Apple Silicon Mac: launchd jobs, virtual environments, helpers, config, records."""
    settings = host_settings()

    # Every job of the stack, whether launchd still has it or only its plist is left
    plists = prepared_fact(host, FindFiles, path=LAUNCHD_DIR, fname=f"{LABEL_PREFIX}*.plist", maxdepth=1) or []
    labels = {path.rsplit("/", 1)[1].removesuffix(".plist") for path in plists}
    labels.update(label for label in prepared_fact(host, LaunchdStatus) or {} if label.startswith(LABEL_PREFIX))
    for label in sorted(labels):
        launchd_job(name=f"Stop {label} and take it out of launchd", label=label, present=False)
        files.file(name=f"Remove {label}.plist", path=f"{LAUNCHD_DIR}/{label}.plist", present=False)

    files.directory(name="Remove the MLX-LM and Open WebUI virtual environments", path=ROOT, present=False)
    remove_stack_files(settings, ("status", "logs"))
