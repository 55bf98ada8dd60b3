"""Facts and operations run against JSON fixtures (pyinfra-testing), the way pyinfra tests its own."""

from pathlib import Path

from pyinfra_testing.facts import make_fact_tests
from pyinfra_testing.operations import make_operation_tests

FIXTURES = Path(__file__).parent / "fixtures"

TestNvidiaGpusFact = make_fact_tests("reasoning_stack", "facts.NvidiaGpus", FIXTURES / "facts" / "NvidiaGpus")
TestDockerImageIdFact = make_fact_tests(
    "reasoning_stack", "facts.DockerImageId", FIXTURES / "facts" / "DockerImageId"
)
TestDockerImageOp = make_operation_tests(
    "reasoning_stack", "operations.docker_image", FIXTURES / "operations" / "docker_image"
)
TestSecretEnvFileOp = make_operation_tests(
    "reasoning_stack", "operations.secret_env_file", FIXTURES / "operations" / "secret_env_file"
)
TestJsonFileMergedOp = make_operation_tests(
    "reasoning_stack", "operations.json_file_merged", FIXTURES / "operations" / "json_file_merged"
)
TestWaitHttpOp = make_operation_tests("reasoning_stack", "operations.wait_http", FIXTURES / "operations" / "wait_http")
TestHfWeightsFact = make_fact_tests("reasoning_stack", "facts.HfWeights", FIXTURES / "facts" / "HfWeights")
TestFreeDiskBytesFact = make_fact_tests("reasoning_stack", "facts.FreeDiskBytes", FIXTURES / "facts" / "FreeDiskBytes")
TestModelWeightsOp = make_operation_tests(
    "reasoning_stack", "operations.model_weights", FIXTURES / "operations" / "model_weights"
)
TestSecretFileOp = make_operation_tests(
    "reasoning_stack", "operations.secret_file", FIXTURES / "operations" / "secret_file"
)
TestNvidiaPciGpusFact = make_fact_tests("reasoning_stack", "facts.NvidiaPciGpus", FIXTURES / "facts" / "NvidiaPciGpus")
TestNvidiaTopologyFact = make_fact_tests(
    "reasoning_stack", "facts.NvidiaTopology", FIXTURES / "facts" / "NvidiaTopology"
)
TestSecureBootFact = make_fact_tests("reasoning_stack", "facts.SecureBoot", FIXTURES / "facts" / "SecureBoot")
TestAptSourcesFact = make_fact_tests("reasoning_stack", "facts.AptSources", FIXTURES / "facts" / "AptSources")
TestHeldPackagesFact = make_fact_tests("reasoning_stack", "facts.HeldPackages", FIXTURES / "facts" / "HeldPackages")
TestAptHoldOp = make_operation_tests("reasoning_stack", "operations.apt_hold", FIXTURES / "operations" / "apt_hold")
TestDebFromUrlOp = make_operation_tests(
    "reasoning_stack", "operations.deb_from_url", FIXTURES / "operations" / "deb_from_url"
)
TestGpgKeyringOp = make_operation_tests(
    "reasoning_stack", "operations.gpg_keyring_from_url", FIXTURES / "operations" / "gpg_keyring_from_url"
)
TestNvidiaKernelStateFact = make_fact_tests(
    "reasoning_stack", "facts.NvidiaKernelState", FIXTURES / "facts" / "NvidiaKernelState"
)


def test_every_fixture_folder_has_fixtures_and_a_test_class():
    # An empty folder would generate no test at all and pass silently.
    generated = {name for name in globals() if name.startswith("Test")}
    folders = [p for kind in ("facts", "operations") for p in (FIXTURES / kind).iterdir() if p.is_dir()]
    for folder in folders:
        assert any(folder.glob("*.json")), f"{folder} has no fixture"
    assert len(generated) == len(folders), (sorted(generated), sorted(p.name for p in folders))
