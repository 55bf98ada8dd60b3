"""Tests that need a tool wait until scripts/test has built the tools; the modules that need only the test-host
image start at once. A plugin of tests/conftest.py.

On a new machine the tools (vLLM's CPU build, Open WebUI, the parsers, AIPerf, ...) take minutes to download, while
the end-to-end modules need only the test-host image. So scripts/test starts the test lanes as soon as the image is
built, names the modules that need nothing else in ``RS_IMAGE_ONLY_MODULES`` and lists those first, and writes the
file ``RS_TOOLS_MARKER`` once every build has ended: ``ok``, or the names of the builds that failed. The first test
of any other module waits for that file. Without these variables (pytest run by hand) nothing waits.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

WAIT_AT_MOST_S = 3600  # far beyond the slowest build measured on an empty cache (about 15 minutes)


class ToolsReady:
    """Holds back the first test that may need a tool until the tool builds have ended."""

    def __init__(self, marker: Path, image_only: set[str]) -> None:
        self.marker = marker
        self.image_only = image_only
        self.ready = False

    def wait(self) -> None:
        deadline = time.monotonic() + WAIT_AT_MOST_S
        began = time.monotonic()
        while not self.marker.exists():
            if time.monotonic() > deadline:
                pytest.fail(f"the tool builds did not end within {WAIT_AT_MOST_S} s ({self.marker} not written)")
            time.sleep(2)
        result = self.marker.read_text().strip()
        if result != "ok":
            pytest.fail(f"building the tools failed ({result}); scripts/test printed each failed build's log")
        waited = time.monotonic() - began
        if waited > 1:
            print(f"\n(waited {waited:.0f} s for scripts/test's tool builds)")
        self.ready = True

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self.ready or item.nodeid.split("::", 1)[0] in self.image_only:
            return
        self.wait()


def pytest_configure(config: pytest.Config) -> None:
    marker = os.environ.get("RS_TOOLS_MARKER")
    if marker:
        image_only = set(os.environ.get("RS_IMAGE_ONLY_MODULES", "").split())
        config.pluginmanager.register(ToolsReady(Path(marker), image_only), "tools_ready_waiter")
