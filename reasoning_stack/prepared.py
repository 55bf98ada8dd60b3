"""Facts the deploy code reads, read once per host and run.

pyinfra 3 runs every deploy function for every host first (the Prepare stage) and only then executes the
operations (Execute), so every fact the deploy code reads sees the host as it was before this run changed anything:
reading the same fact again returns the same answer. pyinfra asks the host each time; :func:`prepared_fact` keeps
the first answer for the run (on pyinfra's own state object). Operations read their facts when they run, as pyinfra
does; one may use :func:`fact_before_run` only for what no earlier operation can undo (a package installed before
the run is still installed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyinfra.api.state import StateStage
from pyinfra.context import ctx_state

MISSING = object()  # fact_before_run: the deploy code did not read this fact


def run_store(name: str, factory: Callable[[], Any]) -> Any:
    """A store that lives as long as this pyinfra run (kept on its state object); None outside a run."""
    state = ctx_state.get()  # None outside a pyinfra run
    return None if state is None else state.__dict__.setdefault(f"_reasoning_stack_{name}", factory())


def _cache() -> dict[tuple[Any, ...], Any] | None:
    return run_store("facts", dict)


def _key(target: Any, cls: type, kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return (target.name, cls, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))


def prepared_fact(target: Any, cls: type, **kwargs: Any) -> Any:
    """``target.get_fact(cls, **kwargs)``, asked once per host while the deploy code runs (Prepare)."""
    cache = _cache()
    if cache is None or ctx_state.get().current_stage != StateStage.Prepare:
        return target.get_fact(cls, **kwargs)
    key = _key(target, cls, kwargs)
    if key not in cache:
        cache[key] = target.get_fact(cls, **kwargs)
    return cache[key]


def fact_before_run(target: Any, cls: type, **kwargs: Any) -> Any:
    """What the deploy code read of this fact before any operation of the run, or :data:`MISSING`."""
    cache = _cache()
    return MISSING if cache is None else cache.get(_key(target, cls, kwargs), MISSING)
