"""Once, in a real browser: Debian's headless Chromium, driven with Selenium over Debian's chromedriver, signs
in to the real Open WebUI 0.12.4 (started with the environment the deploy renders for a dual-4090 host with a
7B distill and Qwen3-8B) and asks a question, as a person does.

It checks what the person sees (the answer, its reasoning collapsed under "Thought for…", expanded on a click;
screenshots kept in test-artifacts/), what Open WebUI saved (the reasoning apart from the answer), how many
requests the chat turn sent to each model, and that a cloud model's `reasoning_content` shows the same way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import browser_chat
import pytest
import real_openwebui as real
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.openwebui.service import openwebui_service
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

API_KEY, ADMIN_PASSWORD, CLOUD_KEY = "sk-browser-0123", "Admin-pass-browser-1", "sk-cloud-browser-4"
REASONING, ANSWER = "340 + 51 = 391", "The answer is"


def test_a_person_sees_the_answer_with_its_reasoning_collapsed():
    from selenium.webdriver.common.by import By

    real.require()
    workdir = Path(tempfile.mkdtemp(prefix="rs-browser-"))
    ports = {"primary": free_port(), "fast": free_port(), "webui": free_port()}
    reasoning = real.StandinVllm("deepseek-r1-distill-qwen-7b", ports["primary"], API_KEY, workdir)
    quick = real.StandinVllm("qwen3-8b", ports["fast"], API_KEY, workdir)
    # a cloud provider that streams `reasoning_content` and takes tools, as DeepSeek's API does (a local stand-in)
    cloud = real.StandinVllm("deepseek-reasoner", free_port(), CLOUD_KEY, workdir,
                             extra_env={"STANDIN_REASONING_FIELD": "reasoning_content"},
                             extra_args=("--enable-auto-tool-choice", "--tool-call-parser", "deepseek_v3"))
    data = {"model": "deepseek-r1-distill-qwen-7b", "api_port": ports["primary"], "openwebui_port": ports["webui"],
            "extra_models": [{"name": "fast", "model": "qwen3-8b", "port": ports["fast"]}],
            "openwebui_cloud": [{"name": "deepseek", "base_url": f"http://127.0.0.1:{cloud.port}/v1",
                                 "models": ["deepseek-reasoner"]}]}
    settings = validate_host_data("dual-4090", data, environ={
        SECRET_ENV_VARS["api_key"]: API_KEY, SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD,
        "REASONING_STACK_DEEPSEEK_API_KEY": CLOUD_KEY})
    host_plan = plan_host(settings, gpus_from_profile("rtx-4090", 2))
    env_text = openwebui_service(settings, host_plan).env_text
    webui = None
    browser = None
    try:
        reasoning.start()
        quick.start()
        cloud.start()
        webui = real.OpenWebUI(env_text, workdir / "data").start()
        made = real.apply_model_entries(webui, host_plan, workdir)
        assert made.returncode == 0, made.stdout + made.stderr
        for vllm in (reasoning, quick):
            vllm.request_log.unlink(missing_ok=True)
        browser = browser_chat.open_browser()
        browser_chat.sign_in(browser, webui.url, settings.openwebui_admin_email, ADMIN_PASSWORD)
        browser_chat.ask(browser, "What is 17 times 23?")
        browser_chat.see_reasoning_collapsed(browser, ANSWER, REASONING, "openwebui-reasoning")
        # What Open WebUI saved: the reasoning as its own item, apart from the answer.
        content, thinking = browser_chat.saved_answer(webui, settings.openwebui_admin_email, ADMIN_PASSWORD)
        assert ANSWER in content and REASONING not in content
        assert len(thinking) == 1 and REASONING in thinking[0]
        wait = browser_chat.waiter(browser)
        wait.until(lambda b: len(quick.requests()) == 3)  # the turn's background tasks, sent after the answer
        turn = (reasoning.requests(), quick.requests())

        # The cloud model, chosen as a person does from a link: its reasoning_content shows the same way.
        browser.get(f"{webui.url}/?models=deepseek.deepseek-reasoner")
        wait.until(lambda b: b.find_elements(By.ID, "chat-input"))
        browser_chat.ask(browser, "What is 17 times 23?")
        wait.until(lambda b: browser_chat.thought_toggle(b) is not None and ANSWER in browser_chat.body_text(b))
        assert "deepseek.deepseek-reasoner" in browser_chat.body_text(browser)
        wait.until(lambda b: browser_chat.thought_toggle(b).get_attribute("aria-expanded") == "false")
        assert REASONING not in browser_chat.body_text(browser)
        browser.save_screenshot(str(browser_chat.ARTIFACTS / "openwebui-cloud-reasoning-collapsed.png"))
        assert [r["model"] for r in cloud.requests()] == ["deepseek-reasoner"]
    finally:
        if browser is not None:
            browser.quit()
        if webui is not None:
            webui.stop()
        reasoning.stop()
        quick.stop()
        cloud.stop()
    # One chat turn as the page sends it: the question to the reasoning model, the three background tasks to
    # Qwen3-8B without thinking (Open WebUI's defaults would send all four to the reasoning model).
    to_reasoning, to_quick = turn
    print(f"one chat turn: {len(to_reasoning)} request(s) to the reasoning model, {len(to_quick)} to qwen3-8b")
    assert len(to_reasoning) == 1 and to_reasoning[0]["stream"]
    assert len(to_quick) == 3
    assert all(r["chat_template_kwargs"] == {"enable_thinking": False} for r in to_quick)
