"""NVIDIA NIM's own settings: its image, the model profile it is asked for, and the NGC API key (a secret, read
from the environment of the machine you deploy from)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, SecretStr, field_validator

from reasoning_stack.engines.nim.releases import DEFAULT_RELEASE, RELEASES
from reasoning_stack.values import env_var_name, image_reference, one_line_secret

DEFAULT_IMAGE = RELEASES[DEFAULT_RELEASE].image
SECRETS = {"ngc_api_key": "ngc_api_key_env"}  # each secret setting and the setting naming its variable


class NimSettings(BaseModel):
    """NVIDIA NIM"""

    nim_image: Annotated[str, AfterValidator(image_reference)] = Field(
        DEFAULT_IMAGE, description="NIM LLM's model-free vLLM image, pinned by tag (its release's vLLM is what the "
        "stack plans; a mirror of the same tag works too).")
    nim_model_profile: str | None = Field(
        None, description="NIM_MODEL_PROFILE: the profile NIM runs (a name from `list-model-profiles`, like "
        "'vllm-bf16-tp1-pp1', or its id); none: NIM picks for the GPU. The stack's planned flags win over it.")
    ngc_api_key: Annotated[SecretStr | None, AfterValidator(one_line_secret)] = Field(
        None, description="NGC API key: the stack logs the host's Docker in to nim_image's registry with it (from "
        "a 0600 file, never a command line). Only Production Branch tags and NIMs before 2.0.10 need one. A secret: "
        "read from the environment variable ngc_api_key_env names.")
    ngc_api_key_env: Annotated[str, AfterValidator(env_var_name)] = Field(
        "NGC_API_KEY", description="Environment variable that holds ngc_api_key.")

    @field_validator("nim_model_profile")
    @classmethod
    def _nim_profile_one_word(cls, value: str | None) -> str | None:
        if value is not None and not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise ValueError("a profile is one word of letters, digits, '-', '_' and '.' (a name like "
                             "'vllm-fp8-tp2-pp1' or a 64-character id); see `list-model-profiles` in the image")
        return value
