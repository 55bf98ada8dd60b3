"""The typed arguments of the stack's ``@deploy`` functions: each stands for a real setting, defaults to the
host's (None), and is documented with an example, as pyinfra's own operations are."""

from __future__ import annotations

import inspect

import pytest

import reasoning_stack.deploys as deploys
from reasoning_stack.settings import StackSettings

FUNCTIONS = [getattr(deploys, name) for name in deploys.__all__]


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f.__name__ for f in FUNCTIONS])
def test_every_argument_is_a_setting_defaulting_to_the_hosts_and_documented(function):
    parameters = inspect.signature(function).parameters
    settings_of = getattr(function, "settings_of", {})
    doc = inspect.getdoc(function) or ""
    named = [p for p in parameters.values() if p.kind is not p.VAR_KEYWORD]
    for parameter in named:
        assert parameter.name in settings_of, f"{function.__name__}({parameter.name}) stands for no setting"
        assert parameter.default is None, f"{function.__name__}({parameter.name}): None keeps the host's setting"
        assert f"+ {parameter.name}: " in doc, f"{function.__name__}({parameter.name}) is not documented"
    assert set(settings_of) == {p.name for p in named}
    for argument, setting in settings_of.items():
        assert setting in StackSettings.model_fields, f"{function.__name__}({argument}): no setting {setting!r}"
        # the documented default names the setting it comes from
        line = next(line for line in doc.splitlines() if line.startswith(f"+ {argument}: "))
        assert f"``{setting}``" in line, line
    if parameters:
        assert ".. code:: python" in doc, f"{function.__name__} has arguments and no example"
    for parameter in parameters.values():
        if parameter.kind is parameter.VAR_KEYWORD:
            assert f"+ {parameter.name}: any other setting by its group_data name" in doc


def test_the_layers_that_take_every_setting_are_the_whole_stack_ones():
    takes_any = {f.__name__ for f in FUNCTIONS
                 if any(p.kind is p.VAR_KEYWORD for p in inspect.signature(f).parameters.values())}
    assert takes_any == {"reasoning_stack", "linux_stack", "mac_stack"}


def test_the_package_docstring_names_every_function_with_arguments():
    documented = deploys.__doc__ or ""
    for function in FUNCTIONS:
        if inspect.signature(function).parameters:
            assert f"``{function.__name__}(" in documented or f"``{function.__name__}``" in documented, \
                function.__name__
