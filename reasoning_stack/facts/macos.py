"""What an Apple Silicon Mac is: its chip, memory, GPU wired limit, Homebrew and Python."""

from __future__ import annotations

from pyinfra.api import FactBase


class MacHardware(FactBase):
    """
    An Apple Silicon Mac as the planner needs it: memory (``hw.memsize``), chip (``machdep.cpu.brand_string``),
    a raised GPU wired limit (``iogpu.wired_limit_mb``, 0 when left to macOS), the macOS version and whether
    Homebrew and its Python are there. ``None`` on anything but macOS.

    .. code:: python

        host.get_fact(MacHardware)  # {"memsize": 137438953472, "brand": "Apple M4 Max", ...}
    """

    requires_command = "sw_vers"

    def command(self) -> str:
        return ("echo memsize=$(sysctl -n hw.memsize); echo brand=$(sysctl -n machdep.cpu.brand_string); "
                "echo wired=$(sysctl -n iogpu.wired_limit_mb 2>/dev/null || echo 0); "
                "echo macos=$(sw_vers -productVersion); echo arch=$(uname -m); "
                "echo brew=$(test -x /opt/homebrew/bin/brew && echo yes || echo no); "
                "echo python=$(test -x /opt/homebrew/bin/python3.12 && echo yes || echo no)")

    def process(self, output: list[str]) -> dict[str, object] | None:
        values = dict(line.split("=", 1) for line in output if "=" in line)
        if not values.get("memsize", "").isdigit():
            return None
        return {
            "memsize": int(values["memsize"]),
            "brand": values.get("brand", "").strip(),
            "wired_limit_mib": int(values["wired"]) if values.get("wired", "").isdigit() else 0,
            "macos": values.get("macos", ""),
            "arch": values.get("arch", ""),
            "brew": values.get("brew") == "yes",
            "python": values.get("python") == "yes",
        }
