"""Settings: defaults, validation messages (host, key, value, what would work), and the generated docs."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from reasoning_stack.settings import StackSettings, group_data_all_py, settings_reference_markdown
from reasoning_stack.validation import SettingsInvalid, validate_host_data, validate_hosts

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_valid():
    settings = validate_host_data("box", {})
    assert settings == StackSettings()
    assert settings.vllm_image == "vllm/vllm-openai:v0.34.0" and settings.vllm_version == "0.34.0"
    assert settings.api_listen == "127.0.0.1"


def test_pyinfra_keys_pass_through():
    data = {"ssh_user": "ubuntu", "ssh_port": 2222, "_sudo": True, "ssh_key": "/k", "model": "qwq-32b"}
    assert validate_host_data("box", data).model == "qwq-32b"


def test_typo_names_host_key_and_the_valid_name():
    with pytest.raises(SettingsInvalid) as info:
        validate_host_data("gpu-box", {"gpu_memory_utilisation": 0.85}, {"gpu_memory_utilisation": "group_data/all.py"})
    text = str(info.value)
    assert "host 'gpu-box'" in text
    assert "gpu_memory_utilisation" in text
    assert "did you mean 'gpu_memory_utilization'?" in text
    assert "group_data/all.py" in text


def test_bad_value_shows_value_and_what_is_valid():
    with pytest.raises(SettingsInvalid) as info:
        validate_host_data("box", {"gpu_memory_utilization": 1.5, "kv_cache_dtype": "int4"})
    text = str(info.value)
    assert "gpu_memory_utilization" in text and "1.5" in text and "less than or equal to 0.98" in text
    assert "kv_cache_dtype" in text and "'int4'" in text and "'auto' or 'fp8'" in text


def test_unknown_model_suggests_closest():
    with pytest.raises(SettingsInvalid) as info:
        validate_host_data("box", {"model": "qwq32b"})
    assert "did you mean 'qwq-32b'?" in str(info.value)


def test_secrets_in_host_data_are_refused_and_never_echoed():
    with pytest.raises(SettingsInvalid) as info:
        validate_host_data("box", {"api_key": ["sk-very-secret"], "hf_token": "hf_12345"}, environ={})
    text = str(info.value)
    assert "sk-very-secret" not in text and "hf_12345" not in text
    assert "api_key: a secret in host data" in text and "export REASONING_STACK_VLLM_API_KEY" in text
    assert "hf_token: a secret in host data" in text and "export HF_TOKEN" in text


def test_secrets_come_from_the_environment_as_secretstr():
    env = {"REASONING_STACK_VLLM_API_KEY": "sk-abc", "HF_TOKEN": "hf_xyz", "BOX2_KEY": "sk-box2"}
    settings = validate_host_data("box", {}, environ=env)
    assert "sk-abc" not in repr(settings) and "hf_xyz" not in repr(settings)
    assert settings.api_key.get_secret_value() == "sk-abc"
    own = validate_host_data("box", {"api_key_env": "BOX2_KEY"}, environ=env)
    assert own.api_key.get_secret_value() == "sk-box2"
    empty = validate_host_data("box", {}, environ={"REASONING_STACK_VLLM_API_KEY": ""})
    assert empty.api_key is None  # an empty variable is no key


def test_port_clash_is_refused_blaming_the_port_that_was_moved():
    with pytest.raises(SettingsInvalid, match="openwebui_port.*: 8000 is api_port's port too; give openwebui_port "
                                             "another port \\(default 3000\\)"):
        validate_host_data("box", {"openwebui_port": 8000})
    with pytest.raises(SettingsInvalid, match="api_port.*: 3000 is openwebui_port's port too; give api_port another "
                                             "port \\(default 8000\\)"):
        validate_host_data("box", {"api_port": 3000})


@pytest.mark.parametrize("image", ["vllm/vllm-openai", "vllm/vllm-openai:latest space", "UPPER:1"])
def test_images_must_be_pinned(image):
    with pytest.raises(SettingsInvalid, match="pinned by tag or digest"):
        validate_host_data("box", {"vllm_image": image})


def test_every_host_is_checked_before_raising():
    with pytest.raises(SettingsInvalid) as info:
        validate_hosts([("a", {"vllm_prot": 1}, {}), ("b", {}, {}), ("c", {"model": "nope"}, {})])
    assert {e.host for e in info.value.errors} == {"a", "c"}


def test_every_setting_has_help_and_default():
    for name, field in StackSettings.model_fields.items():
        assert field.description, name
        assert not field.is_required(), name


def test_generated_docs_are_current():
    assert (REPO / "docs" / "settings.md").read_text() == settings_reference_markdown()
    assert (REPO / "group_data" / "all.py").read_text() == group_data_all_py()


def _cli(*args, cwd=REPO):
    return subprocess.run([sys.executable, "-m", "reasoning_stack.cli", *args], cwd=cwd, capture_output=True,
                          text=True)


def test_check_example_inventory():
    out = _cli("check", "inventories/home.py")
    assert out.returncode == 0, out.stderr
    assert "gpu-box" in out.stdout


@pytest.mark.alone  # timed: scripts/test runs it with the machine to itself
def test_check_typo_fails_fast_without_connecting(tmp_path):
    (tmp_path / "group_data").mkdir()
    (tmp_path / "group_data" / "all.py").write_text("gpu_memory_utilisation = 0.85\n")
    # 192.0.2.1 is a documentation address: a connection attempt would hang, not fail fast.
    (tmp_path / "inv.py").write_text('boxes = [("box-1", {"ssh_hostname": "192.0.2.1"})]\n')
    start = time.monotonic()
    out = _cli("check", str(tmp_path / "inv.py"), cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert out.returncode == 2
    assert "host 'box-1'" in out.stderr and "gpu_memory_utilization" in out.stderr
    # about 1.2 s alone (Python's start and the imports); a connection attempt would wait out SSH's 10 s timeout
    assert elapsed < 5.0, f"check took {elapsed:.2f}s"


def test_extra_models_are_checked():
    with pytest.raises(SettingsInvalid) as info:
        validate_host_data("box", {"extra_models": [{"name": "fast", "model": "qwq-32", "port": 3000}]})
    text = str(info.value)
    assert "extra_models.0.model" in text and "did you mean 'qwq-32b'?" in text
    with pytest.raises(SettingsInvalid, match="already taken by openwebui_port"):
        validate_host_data("box", {"extra_models": [{"name": "fast", "model": "qwq-32b", "port": 3000}]})
    with pytest.raises(SettingsInvalid) as info:
        validate_host_data("box", {"extra_models": [{"name": "fast", "model": "qwq-32b", "port": 8001, "prot": 1}]})
    assert "extra_models.0.prot" in str(info.value) and "did you mean 'port'?" in str(info.value)


def test_every_secret_setting_reads_the_environment_and_is_never_echoed():
    from reasoning_stack.settings import SECRET_ENV_VARS

    secret_fields = {n for n, f in StackSettings.model_fields.items() if "SecretStr" in str(f.annotation)}
    assert secret_fields == set(SECRET_ENV_VARS)


def test_group_data_all_py_sets_only_what_a_user_decides():
    """Copying group_data/all.py freezes no image pin or default: every other setting is a comment."""
    text = (REPO / "group_data" / "all.py").read_text()
    active = [line.split(" = ")[0] for line in text.splitlines() if line and not line.startswith(("#", " ", '"'))
              and " = " in line]
    assert active == ["gpu_profile", "gpu_count", "model", "api_key_env", "hf_token_env"]
    assert "# vllm_image = 'vllm/vllm-openai:v0.34.0'" in text and "# --- Open WebUI ---" in text
    namespace: dict[str, object] = {}
    exec(compile(text, "all.py", "exec"), namespace)  # noqa: S102 (the repository's own file)
    assert "vllm_image" not in namespace and namespace["model"] == "auto"


def test_the_reference_is_grouped_by_concern():
    text = settings_reference_markdown()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[:4] == ["## Hardware", "## Model and serving plan", "## The model servers' API (every engine)",
                            "## vLLM"]
    assert text.index("`api_listen`") < text.index("## vLLM") < text.index("`vllm_image`")
    assert "`vllm_listen` is `api_listen`" in text
