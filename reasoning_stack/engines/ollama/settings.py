"""Ollama's own settings: its pinned image."""

from __future__ import annotations

from pydantic import BaseModel, Field

IMAGE_VERSION = "0.32.6"
DEFAULT_IMAGE = f"ollama/ollama:{IMAGE_VERSION}"


class OllamaSettings(BaseModel):
    """Ollama"""

    ollama_image: str = Field(DEFAULT_IMAGE, description="Ollama image, pinned by tag (the same server as "
                              "the official Linux install, run like the stack's other services).")
