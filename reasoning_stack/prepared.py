"""Facts the deploy code reads, read once per host and run.

pyinfra 3 runs every deploy function for every host first (preparing the operations) and only then executes the
operations, so every fact the deploy code itself reads sees the host as it was before this run changed anything:
reading the same fact again returns the same answer. pyinfra asks the host each time; this keeps the first answer
for the run (on pyinfra's own state object). Operations read their facts when they run, as pyinfra does, never
from here.
"""

from __future__ import annotations

from typing import Any

from pyinfra.context import ctx_state


def prepared_fact(target: Any, cls: type, **kwargs: Any) -> Any:
    """``target.get_fact(cls, **kwargs)``, asked once per host in this run."""
    state = ctx_state.get()  # None outside a pyinfra run: no cache
    cache = getattr(state, "_reasoning_stack_facts", None) if state is not None else None
    if cache is None:
        if state is None:
            return target.get_fact(cls, **kwargs)
        cache = {}
        state._reasoning_stack_facts = cache
    key = (target.name, cls, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    if key not in cache:
        cache[key] = target.get_fact(cls, **kwargs)
    return cache[key]
