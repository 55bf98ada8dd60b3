"""Facts and operations run against JSON fixtures (pyinfra-testing), the way pyinfra tests its own.

Every folder under fixtures/facts/<Fact> and fixtures/operations/<operation> becomes a test class
for reasoning_stack.facts.<Fact> or reasoning_stack.operations.<operation>, one test per JSON file.
"""

from pathlib import Path

from pyinfra_testing.facts import make_fact_tests
from pyinfra_testing.operations import make_operation_tests

FIXTURES = Path(__file__).parent / "fixtures"
FOLDERS = sorted(p for kind in ("facts", "operations") for p in (FIXTURES / kind).iterdir() if p.is_dir())

for _folder in FOLDERS:
    if _folder.parent.name == "facts":
        globals()[f"TestFact{_folder.name}"] = make_fact_tests("reasoning_stack", f"facts.{_folder.name}", _folder)
    else:
        globals()[f"TestOperation_{_folder.name}"] = make_operation_tests(
            "reasoning_stack", f"operations.{_folder.name}", _folder
        )


def test_every_fixture_folder_has_fixtures():
    # An empty folder would generate no test at all and pass silently.
    assert len(FOLDERS) >= 19
    for folder in FOLDERS:
        assert any(folder.glob("*.json")), f"{folder} has no fixture"
