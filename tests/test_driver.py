"""Driver needs per GPU architecture, and the explanations of the nvidia-smi failures users hit most."""

import pytest

from reasoning_stack.driver import branch_of, check_branch, driver_needs, explain_nvidia_smi_error, kernel_modules
from reasoning_stack.pci import architecture_of, architecture_of_compute_cap, has_nvlink


@pytest.mark.parametrize(
    ("description", "arch"),
    [("GB202 [GeForce RTX 5090]", "blackwell"), ("AD102 [GeForce RTX 4090]", "ada"),
     ("GA102 [GeForce RTX 3090]", "ampere"), ("GH100 [H100 SXM5 80GB]", "hopper"), ("TU102 [TITAN RTX]", "turing"),
     ("GV100GL [Tesla V100 SXM2 32GB]", "volta"), ("GP102 [GeForce GTX 1080 Ti]", "pascal"),
     ("GM204 [GeForce GTX 980]", "maxwell"), ("Device 2ff5", "unknown")],
)
def test_architecture_from_lspci_chip_name(description, arch):
    assert architecture_of(description) == arch


@pytest.mark.parametrize(("cap", "arch"), [("12.0", "blackwell"), ("9.0", "hopper"), ("8.9", "ada"),
                                           ("8.6", "ampere"), ("8.0", "ampere"), ("7.5", "turing"),
                                           ("7.0", "volta"), ("6.1", "pascal"), ("", "unknown")])
def test_architecture_from_compute_cap(cap, arch):
    assert architecture_of_compute_cap(cap) == arch


def test_blackwell_needs_open_570():
    needs = driver_needs({"blackwell"})
    assert (needs.min_branch, needs.modules) == (570, "open")
    assert check_branch(needs, 565) and not check_branch(needs, 575)
    assert kernel_modules(needs, 575) == "open"
    with pytest.raises(ValueError, match="proprietary kernel modules cannot drive"):
        kernel_modules(needs, 575, "proprietary")


def test_pascal_needs_proprietary_at_most_580():
    needs = driver_needs({"pascal"})
    assert (needs.max_branch, needs.modules) == (580, "proprietary")
    assert "too new" in check_branch(needs, 590)[0]
    assert kernel_modules(needs, 580) == "proprietary"


def test_ada_open_by_default_from_560():
    needs = driver_needs({"ada"})
    assert kernel_modules(needs, 580) == "open"
    assert kernel_modules(needs, 550) == "proprietary"
    assert check_branch(needs, 535) == []


def test_blackwell_and_pascal_cannot_share_a_driver():
    with pytest.raises(ValueError, match="cannot share one driver"):
        driver_needs({"blackwell", "pascal"})


def test_branch_of():
    assert branch_of("550.127.05") == 550 and branch_of("[N/A]") is None


def test_explanations():
    assert "reboot" in explain_nvidia_smi_error("Failed to initialize NVML: Driver/library version mismatch")
    assert "dkms" in explain_nvidia_smi_error(
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.")
    assert not has_nvlink({"0-1": "PHB"}) and has_nvlink({"0-1": "NV4"})
    no_module = {"kernel": "6.8.0-49-generic", "installed": False, "loaded": False, "device": False}
    text = explain_nvidia_smi_error("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
                                    no_module)
    assert "6.8.0-49-generic has no NVIDIA module" in text and "linux-headers-6.8.0-49-generic" in text
    no_node = {"kernel": "6.8.0-49-generic", "installed": True, "loaded": True, "device": False}
    assert "/dev/nvidia0 is missing" in explain_nvidia_smi_error("No devices were found", no_node)
    # A mismatch is about the loaded module: it wins over what the kernel state says.
    assert "reboot" in explain_nvidia_smi_error("Failed to initialize NVML: Driver/library version mismatch",
                                                no_module)


from reasoning_stack.driver import driver_install, toolkit_packages  # noqa: E402

OSES = [("debian", "12"), ("ubuntu", "22.04"), ("ubuntu", "24.04")]


@pytest.mark.parametrize(("os_id", "version"), OSES)
def test_cuda_repo_580_for_an_ada_box(os_id, version):
    plan = driver_install(os_id, version, "cuda-repo", None, "auto", driver_needs({"ada"}))
    assert plan.branch == 580 and plan.modules == "open"
    assert plan.packages == ("nvidia-open-580",) and plan.hold == ("nvidia-open-580",)
    assert plan.repo_distro == {"debian": "debian12", "ubuntu": "ubuntu" + version.replace(".", "")}[os_id]


@pytest.mark.parametrize(("os_id", "version"), OSES)
def test_cuda_repo_590_pins_with_the_pinning_package(os_id, version):
    plan = driver_install(os_id, version, "cuda-repo", 590, "auto", driver_needs({"blackwell"}))
    assert plan.pin_first == ("nvidia-driver-pinning-590",) and plan.packages == ("nvidia-open",)
    assert plan.hold == ()
    proprietary = driver_install(os_id, version, "cuda-repo", 590, "proprietary", driver_needs({"ada"}))
    assert proprietary.packages == ("cuda-drivers",)


def test_pascal_box_gets_proprietary_580_at_most():
    plan = driver_install("ubuntu", "24.04", "cuda-repo", None, "auto", driver_needs({"pascal"}))
    assert (plan.branch, plan.packages) == (580, ("cuda-drivers-580",))
    with pytest.raises(ValueError, match="too new"):
        driver_install("ubuntu", "24.04", "cuda-repo", 590, "auto", driver_needs({"pascal"}))


def test_ubuntu_packages():
    plan = driver_install("ubuntu", "22.04", "ubuntu", 570, "auto", driver_needs({"blackwell"}))
    assert plan.packages == ("nvidia-driver-570-open",)
    with pytest.raises(ValueError, match="needs Ubuntu"):
        driver_install("debian", "12", "ubuntu", None, "auto", driver_needs({"ada"}))


def test_debian_non_free_refuses_blackwell_and_open_modules():
    plan = driver_install("debian", "12", "debian", None, "auto", driver_needs({"ampere"}))
    assert plan.branch == 535 and plan.packages == ("nvidia-driver", "firmware-misc-nonfree", "nvidia-smi")
    with pytest.raises(ValueError, match="cannot drive these GPUs.*use nvidia_driver = 'cuda-repo'"):
        driver_install("debian", "12", "debian", None, "auto", driver_needs({"blackwell"}))
    with pytest.raises(ValueError, match="open modules"):
        driver_install("debian", "12", "debian", None, "open", driver_needs({"ada"}))


def test_toolkit_packages_are_pinned_together():
    assert toolkit_packages("1.18.0-1") == (
        "nvidia-container-toolkit=1.18.0-1", "nvidia-container-toolkit-base=1.18.0-1",
        "libnvidia-container-tools=1.18.0-1", "libnvidia-container1=1.18.0-1")


def test_conflicting_signed_by_and_the_debian_archive():
    from reasoning_stack.facts import conflicting_sources, debian_archive

    entries = [
        {"file": "/etc/apt/sources.list.d/cuda.list", "url": "https://r/cuda", "suites": ["/"], "components": [],
         "signed_by": ""},
        {"file": "/etc/apt/sources.list.d/cuda-new.list", "url": "https://r/cuda", "suites": ["/"], "components": [],
         "signed_by": "/usr/share/keyrings/cuda-archive-keyring.gpg"},
        {"file": "/etc/apt/sources.list", "url": "http://mirror/debian", "suites": ["bookworm"],
         "components": ["main"], "signed_by": ""},
    ]
    assert conflicting_sources(entries) == {
        "https://r/cuda": ["/etc/apt/sources.list.d/cuda-new.list", "/etc/apt/sources.list.d/cuda.list"]}
    assert debian_archive(entries, "bookworm")["url"] == "http://mirror/debian"
    assert debian_archive(entries, "trixie") is None
