"""The model servers' API: where every engine listens, its key, the Hugging Face token, and the checks after a start."""

from __future__ import annotations

import ipaddress

from pydantic import AliasChoices, BaseModel, Field, SecretStr


class ApiSettings(BaseModel):
    """The model servers' API (every engine)"""

    api_port: int = Field(
        8000, ge=1, le=65535, validation_alias=AliasChoices("api_port", "vllm_port"),
        description="Port of the primary model's API (OpenAI-compatible; Ollama's own). Was vllm_port.")
    api_listen: str = Field(
        "127.0.0.1", validation_alias=AliasChoices("api_listen", "vllm_listen"),
        description="Address every model server binds to; vLLM's /health and /metrics are never behind the API key, "
        "so keep it local unless the network is trusted. Was vllm_listen.",
    )
    api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("api_key", "vllm_api_key"),
        description="API key of the model servers' /v1/* (kept in a 0600 env file, never in the unit). A secret: read "
        "from the environment variable api_key_env names, never from a file. Was vllm_api_key."
    )
    api_key_env: str = Field(
        "REASONING_STACK_VLLM_API_KEY", validation_alias=AliasChoices("api_key_env", "vllm_api_key_env"),
        description="Environment variable (of the machine you deploy from) that holds api_key; another name gives "
        "this host or group its own key. Was vllm_api_key_env.",
    )

    hf_token: SecretStr | None = Field(
        None, description="Hugging Face token for gated models (kept in a 0600 env file). A secret: read from the "
        "environment variable hf_token_env names."
    )

    hf_token_env: str = Field("HF_TOKEN", description="Environment variable that holds hf_token.")

    offline: bool = Field(
        False, description="Weights are pre-staged in <data_dir>/huggingface: never download (HF_HUB_OFFLINE=1)."
    )

    smoke_test: bool = Field(
        True, description="After a (re)start, ask one reasoning question and check reasoning and answer arrive apart."
    )

    health_timeout: int = Field(
        1800, ge=10, le=14400, description="Seconds to wait for a model server to answer its health check after a "
        "(re)start (at most 4 hours: a wait that long is a hung start, not a slow one)."
    )

    def _check_exposure(self) -> None:
        """A model server beyond loopback needs an API key: its /v1 API would otherwise serve anyone who can reach
        it."""
        local = ipaddress.ip_address(self.api_listen).is_loopback
        if not local and (self.api_key is None or not self.api_key.get_secret_value()):
            raise ValueError(f"api_listen {self.api_listen} exposes the model servers beyond this host without an API "
                             f"key: set {self.api_key_env} in the environment you deploy from, or listen on 127.0.0.1")
