"""Reading a model's files: from the Hugging Face Hub (``huggingface_hub``, on the machine running ``check``,
``plan`` or the deploy) or from a folder.

A repo's ``config.json`` (with a ModelOpt ``hf_quant_config.json``), ``generation_config.json``,
``tokenizer_config.json`` and its safetensors' sizes are kept
in the user cache under the revision they came from (``~/.cache/reasoning-stack/models/<org>/<name>/``), with the
requested ref pointing at that revision, so a later run without a network plans from the cache and says so.
``HF_TOKEN`` from the environment opens gated repos; ``HF_ENDPOINT`` points at another Hub (a mirror, or a test's
stand-in).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from reasoning_stack.models.architectures import REASONING_END
from reasoning_stack.models.config import ModelError, ModelFiles

FILES = ("config.json", "generation_config.json", "tokenizer_config.json", "hf_quant_config.json")
REPO_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
TIMEOUT_S = 20.0


def cache_root() -> Path:
    """Where read repos are kept: ``$XDG_CACHE_HOME/reasoning-stack/models`` (``~/.cache`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reasoning-stack" / "models"


def is_repo_id(name: str) -> bool:
    """Whether ``name`` is written as a Hugging Face repo id (org/name) rather than a path."""
    return bool(REPO_RE.match(name))  # its first character is a letter or digit: never ./, / or ~


def _entry(repo: str, ref: str) -> Path:
    return cache_root() / repo / f"{ref.replace('/', '%2F')}.json"


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _from_cache(repo: str, ref: str, why: str) -> ModelFiles:
    pointer = _entry(repo, ref)
    if not pointer.is_file():
        raise ModelError(f"model {repo}: the Hugging Face Hub cannot be read ({why}) and the user cache has no copy "
                         f"of it at revision {ref}; connect once (or set HF_ENDPOINT to a mirror), or use a "
                         f"catalogue model, or a folder holding the model")
    data = _read_json(pointer)
    fetched = time.strftime("%Y-%m-%d", time.localtime(data.get("fetched", 0)))
    return ModelFiles(repo, data["config"], data.get("generation_config", {}), data.get("tokenizer_config", {}),
                      data.get("weight_bytes"), data["revision"],
                      note=f"offline: planned from the cached files of {fetched} (revision {data['revision'][:12]})")


def _store(files: ModelFiles, ref: str) -> None:
    data = {"config": files.config, "generation_config": files.generation_config,
            "tokenizer_config": files.tokenizer_config, "weight_bytes": files.weight_bytes,
            "revision": files.revision, "fetched": int(time.time())}
    for target in {ref, files.revision}:
        path = _entry(files.name, target)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        tmp.replace(path)


def read_repo(repo: str, revision: str | None = None) -> ModelFiles:
    """A repo's files at ``revision`` (default: main), from the Hub or, offline, from the user cache."""
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    ref = revision or "main"
    token = os.environ.get("HF_TOKEN") or None
    endpoint = os.environ.get("HF_ENDPOINT") or None
    if os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true", "True"):
        return _from_cache(repo, ref, "HF_HUB_OFFLINE is set")
    api = HfApi(endpoint=endpoint, token=token)
    try:
        info = api.model_info(repo, revision=ref, files_metadata=True, timeout=TIMEOUT_S)
        sha = info.sha or ref
        sizes = [s.size or 0 for s in (info.siblings or []) if s.rfilename.endswith(".safetensors")]
        loaded: dict[str, dict[str, Any]] = {}
        for name in FILES:
            try:
                path = hf_hub_download(repo, name, revision=sha, cache_dir=str(cache_root() / "hub"),
                                       token=token, endpoint=endpoint, etag_timeout=TIMEOUT_S)
            except EntryNotFoundError:
                if name == "config.json":
                    raise ModelError(f"model {repo}: the repo has no config.json at revision {ref}, so the planner "
                                     "cannot size it") from None
                continue
            loaded[name] = _read_json(Path(path))
    except GatedRepoError:
        raise ModelError(f"model {repo} is gated: accept its licence on huggingface.co with your account and "
                         "export HF_TOKEN (a read token) where you run reasoning-stack and pyinfra") from None
    except RepositoryNotFoundError:
        raise ModelError(f"model {repo}: no such repo on the Hugging Face Hub (or it is private: export HF_TOKEN); "
                         "check the spelling, org/name as on huggingface.co") from None
    except RevisionNotFoundError:
        raise ModelError(f"model {repo}: no revision {ref!r} (model_revision); use a branch, tag or commit of "
                         "the repo") from None
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise ModelError(f"model {repo}: the Hub refused access ({status}); export HF_TOKEN with access to "
                             "it") from None
        return _from_cache(repo, ref, f"HTTP {status}")
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, DNS, offline mode: try the cache
        return _from_cache(repo, ref, f"{type(exc).__name__}: {exc}"[:160])
    config = with_modelopt_quantization(loaded["config.json"], loaded.get("hf_quant_config.json", {}))
    files = ModelFiles(repo, config, loaded.get("generation_config.json", {}),
                       _tokenizer_facts(loaded.get("tokenizer_config.json", {})), sum(sizes) or None, sha)
    _store(files, ref)
    return files


def with_modelopt_quantization(config: dict[str, Any], hf_quant: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the quantization a ModelOpt checkpoint states in ``hf_quant_config.json`` instead (NVIDIA's
    Nemotron NVFP4 repos: no quantization_config in config.json; vLLM reads that file the same way)."""
    quantization = hf_quant.get("quantization")
    if not isinstance(quantization, dict) or config.get("quantization_config"):
        return config
    return {**config, "quantization_config": {"quant_method": "modelopt", **quantization}}


def _tokenizer_facts(tokenizer: dict[str, Any]) -> dict[str, Any]:
    """The part of tokenizer_config.json the planner reads: the chat template, and the token ids of the
    end-of-reasoning markers it adds (``added_tokens_decoder``), to tell one apart in an eos_token_id list."""
    facts: dict[str, Any] = {}
    template = tokenizer.get("chat_template")
    if isinstance(template, list):  # named templates: [{"name": "default", "template": "..."}]
        template = " ".join(str(t.get("template", "")) for t in template if isinstance(t, dict))
    if template:
        facts["chat_template"] = template
    added = tokenizer.get("added_tokens_decoder")
    markers = set(REASONING_END.values())
    if isinstance(added, dict):
        ids = {str(t.get("content")): int(i) for i, t in added.items()
               if isinstance(t, dict) and t.get("content") in markers and str(i).isdigit()}
        if ids:
            facts["marker_ids"] = ids
    return facts


def _index_total_size(path: Path) -> int | None:
    """The weights' size a sharded checkpoint's index states (``metadata.total_size``), for a folder that holds the
    index and config but not (yet) the shards; None without one."""
    index = path / "model.safetensors.index.json"
    if not index.is_file():
        return None
    total = _read_json(index).get("metadata", {}).get("total_size")
    return int(total) if isinstance(total, int | float) and total > 0 else None


def read_folder(folder: str) -> ModelFiles:
    """A model's files in a local folder (config.json beside its safetensors)."""
    path = Path(folder).expanduser()
    config = path / "config.json"
    if not path.is_dir():
        raise ModelError(f"model {folder}: no such folder on this machine; a folder model is planned here and served "
                         "from the same path on the host, so it must be at that path on both")
    if not config.is_file():
        raise ModelError(f"model {folder}: no config.json in that folder; point model at a folder holding a "
                         "Hugging Face model (config.json, tokenizer files, *.safetensors)")
    def optional(name: str) -> dict[str, Any]:
        file = path / name
        return _read_json(file) if file.is_file() else {}
    try:
        loaded = with_modelopt_quantization(_read_json(config), optional("hf_quant_config.json"))
        weight_bytes = sum(f.stat().st_size for f in path.glob("*.safetensors")) or _index_total_size(path)
        return ModelFiles(folder, loaded, optional("generation_config.json"),
                          _tokenizer_facts(optional("tokenizer_config.json")), weight_bytes)
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model {folder}: cannot read its files ({exc})") from None
