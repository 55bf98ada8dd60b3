"""What ``deploys/remove.py`` also removes when asked (pass on the command line: ``--data remove_weights=true``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RemovalSettings(BaseModel):
    """Removal (deploys/remove.py only; pass on the command line: --data remove_weights=true)"""

    remove_weights: bool = Field(
        False, description="deploys/remove.py: also delete the downloaded model weights (<data_dir>/huggingface)."
    )

    remove_openwebui_data: bool = Field(
        False, description="deploys/remove.py: also delete Open WebUI's data (accounts, chats: <data_dir>/open-webui)."
    )

    remove_driver: bool = Field(
        False, description="deploys/remove.py: also purge the NVIDIA driver, the Container Toolkit and their apt "
        "sources (Docker stays)."
    )
