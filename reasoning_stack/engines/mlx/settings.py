"""MLX-LM's own settings: the Mac account its services run as."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MlxSettings(BaseModel):
    """MLX-LM (Apple Silicon Macs)"""

    mac_user: str | None = Field(None, description="macOS account the Mac's services (engine mlx) run as and Homebrew "
                                 "belongs to; None: the inventory's ssh_user.")
