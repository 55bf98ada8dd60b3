"""Models beyond the catalogue's own entries: the presets (``presets``), any Hugging Face repo or local folder read
from its own files (``hub``, ``config``), the architectures the planner knows (``architectures``) and weights
formats (``quantization``). :func:`resolve` is the front door every command and the deploy use."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from reasoning_stack.models.config import ModelError, spec_from_files
from reasoning_stack.models.hub import is_repo_id, read_folder, read_repo
from reasoning_stack.models.known import MODELS, RESOLVED, find_model, preset_of_repo, register
from reasoning_stack.models.spec import ModelSpec

__all__ = ["ModelError", "is_local", "needs_reading", "planned_name", "resolve", "resolve_notes"]

_NOTES: dict[str, str] = {}


def is_local(name: str) -> bool:
    """Whether ``name`` names a folder: an existing directory, or a path (a slash or ``~`` but no repo id)."""
    return Path(name).expanduser().is_dir() or (not is_repo_id(name) and ("/" in name or name.startswith("~")))


def closest_slug(name: str) -> str | None:
    """The catalogue slug ``name`` most likely means ('GPT-OSS-20B', 'gpt-oss:20b' as Ollama writes it, a letter
    short), or None."""
    import difflib

    written = name.strip().lower().replace(":", "-")
    if written in MODELS:
        return written
    close = difflib.get_close_matches(written, MODELS, n=1, cutoff=0.6)
    return close[0] if close else None


def needs_reading(name: str) -> bool:
    """Whether ``name`` is neither auto, a catalogue slug nor a catalogue repo id: a repo or folder to read."""
    return name != "auto" and name not in MODELS and preset_of_repo(name) is None


def resolve(name: str, revision: str | None = None) -> ModelSpec:
    """The model ``name`` names: a catalogue slug or repo id, a Hugging Face repo read from the Hub (or the user
    cache when offline) or a local folder; ModelError saying why not and the way out."""
    if not needs_reading(name):
        return find_model(name)
    key = f"{name}@{revision}" if revision else name
    if key in RESOLVED:  # read already this run
        return RESOLVED[key]
    if is_repo_id(name) and not Path(name).is_dir():
        try:
            files = read_repo(name, revision)
        except ModelError as exc:
            close = closest_slug(name.rsplit("/", 1)[-1])
            if close is None:
                raise
            raise ModelError(f"{exc}; the nearest catalogue model: {close!r}") from None
    elif is_local(name):
        files = read_folder(name)
    else:
        close = closest_slug(name)
        hint = f"did you mean {close!r}? " if close else ""
        raise ModelError(f"{name!r} is neither a catalogue slug, a Hugging Face repo id (org/name) nor a folder; "
                         f"{hint}see `reasoning-stack plan --help` for the slugs")
    spec = spec_from_files(files, slug=key)
    if revision:  # pinned: serve and download exactly the commit that was planned
        spec = replace(spec, revision=files.revision or revision)
    if files.note:
        _NOTES[key] = files.note
    register(spec)
    return spec


def resolve_notes() -> dict[str, str]:
    """What resolving said about the models read this run (planned offline from the cache), by name."""
    return dict(_NOTES)


def planned_name(name: str, quantization: str) -> tuple[str, str]:
    """(model, quantization) as the planner takes them: a catalogue repo id becomes its slug; a quantized repo's id
    also fixes its weights format when quantization is auto (``Qwen/Qwen3-30B-A3B-FP8`` is ``qwen3-30b-a3b`` at fp8),
    while the base repo's id leaves the planner to pick the format that fits, as the slug does."""
    preset = preset_of_repo(name)
    if preset is None:
        return name, quantization
    model, quant = preset
    first = next(iter(model.repos))
    return model.slug, quant if quantization == "auto" and quant != first else quantization
