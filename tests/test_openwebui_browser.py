"""Once, in a real browser: Debian's headless Chromium, driven with Selenium over Debian's chromedriver, signs
in to the real Open WebUI 0.12.4 (started with the environment the deploy renders for a dual-4090 host with a
7B distill and Qwen3-8B) and asks a question, as a person does.

It checks what the person sees (the answer, its reasoning collapsed under "Thought for…", expanded on a click;
screenshots kept in test-artifacts/), what Open WebUI saved (the reasoning apart from the answer), how many
requests the chat turn sent to each model, and that a cloud model's `reasoning_content` shows the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import real_openwebui as real
from testhosts import free_port

from reasoning_stack.gpus import gpus_from_profile
from reasoning_stack.instances import plan_host
from reasoning_stack.services import openwebui_service
from reasoning_stack.settings import SECRET_ENV_VARS
from reasoning_stack.validation import validate_host_data

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("REASONING_STACK_ARTIFACTS", Path(__file__).resolve().parent.parent / "test-artifacts"))
API_KEY, ADMIN_PASSWORD, CLOUD_KEY = "sk-browser-0123", "Admin-pass-browser-1", "sk-cloud-browser-4"
REASONING, ANSWER = "340 + 51 = 391", "The answer is"


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are not installed; scripts/setup installs them")
        pytest.skip("chromium and chromium-driver are not installed; scripts/setup installs them")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    # Debian's own chromedriver: Selenium never looks for (or downloads) one itself
    return webdriver.Chrome(service=Service(driver), options=options)


def test_a_person_sees_the_answer_with_its_reasoning_collapsed():
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    real.require()
    workdir = Path(tempfile.mkdtemp(prefix="rs-browser-"))
    ports = {"primary": free_port(), "fast": free_port(), "webui": free_port()}
    reasoning = real.StandinVllm("deepseek-r1-distill-qwen-7b", ports["primary"], API_KEY, workdir)
    quick = real.StandinVllm("qwen3-8b", ports["fast"], API_KEY, workdir)
    # a cloud provider that streams `reasoning_content`, as DeepSeek's API does (a local stand-in)
    cloud = real.StandinVllm("deepseek-reasoner", free_port(), CLOUD_KEY, workdir,
                             extra_env={"STANDIN_REASONING_FIELD": "reasoning_content"})
    data = {"model": "deepseek-r1-distill-qwen-7b", "api_port": ports["primary"], "openwebui_port": ports["webui"],
            "extra_models": [{"name": "fast", "model": "qwen3-8b", "port": ports["fast"]}],
            "openwebui_cloud": [{"name": "deepseek", "base_url": f"http://127.0.0.1:{cloud.port}/v1",
                                 "models": ["deepseek-reasoner"]}]}
    settings = validate_host_data("dual-4090", data, environ={
        SECRET_ENV_VARS["api_key"]: API_KEY, SECRET_ENV_VARS["openwebui_admin_password"]: ADMIN_PASSWORD,
        "REASONING_STACK_DEEPSEEK_API_KEY": CLOUD_KEY})
    env_text = openwebui_service(settings, plan_host(settings, gpus_from_profile("rtx-4090", 2))).env_text
    webui = None
    browser = None
    try:
        reasoning.start()
        quick.start()
        cloud.start()
        webui = real.OpenWebUI(env_text, workdir / "data").start()
        browser = _browser()
        # the page re-renders while it loads and while answers stream: an element found a moment ago may be gone
        wait = WebDriverWait(browser, 90, ignored_exceptions=[StaleElementReferenceException])
        browser.get(f"{webui.url}/auth")
        wait.until(lambda b: b.find_elements(By.ID, "email"))
        browser.find_element(By.ID, "email").send_keys(settings.openwebui_admin_email)
        browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
        next(b for b in browser.find_elements(By.TAG_NAME, "button") if b.text == "Sign in").click()
        wait.until(lambda b: b.find_elements(By.ID, "chat-input"))

        def release_notes(b):  # "What's New", shown once after the first sign-in
            return next((x for x in b.find_elements(By.TAG_NAME, "button") if "Let's Go" in x.text), None)

        def dismissed(b) -> bool:
            button = release_notes(b)
            if button is not None:
                button.click()  # a re-render in between raises a stale element, which the wait retries
            return button is None

        with contextlib.suppress(TimeoutException):  # when it is not shown at all, there is nothing to dismiss
            WebDriverWait(browser, 10, ignored_exceptions=[StaleElementReferenceException]).until(release_notes)
        wait.until(dismissed)

        def ask(question: str) -> None:
            prompt = browser.find_element(By.ID, "chat-input")
            prompt.send_keys(question)
            prompt.send_keys(Keys.ENTER)

        ask("What is 17 times 23?")

        def thought():  # the page re-renders while the answer streams: find the toggle afresh each time
            found = [x for x in browser.find_elements(By.CSS_SELECTOR, "#response-content-container "
                                                                       "button[aria-expanded]")
                     if x.text.startswith("Thought for")]
            return found[0] if found else None

        wait.until(lambda b: thought() is not None and ANSWER in b.find_element(By.TAG_NAME, "body").text)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "openwebui-reasoning-collapsed.png"))
        visible = browser.find_element(By.TAG_NAME, "body").text
        wait.until(lambda b: thought().get_attribute("aria-expanded") == "false")
        assert ANSWER in visible and REASONING not in visible  # collapsed: the thinking is not shown
        wait.until(lambda b: thought().click() or True)
        wait.until(lambda b: REASONING in b.find_element(By.TAG_NAME, "body").text)
        wait.until(lambda b: thought().get_attribute("aria-expanded") == "true")
        browser.save_screenshot(str(ARTIFACTS / "openwebui-reasoning-expanded.png"))
        print(f"\nscreenshots: {ARTIFACTS}/openwebui-reasoning-collapsed.png, -expanded.png")

        # What Open WebUI saved: the reasoning as its own item, apart from the answer.
        status, admin = webui.call("POST", "/api/v1/auths/signin",
                                   {"email": settings.openwebui_admin_email, "password": ADMIN_PASSWORD})
        status, chats = webui.call("GET", "/api/v1/chats/", token=admin["token"])
        status, chat = webui.call("GET", f"/api/v1/chats/{chats[0]['id']}", token=admin["token"])
        answer = next(m for m in chat["chat"]["history"]["messages"].values() if m["role"] == "assistant")
        assert ANSWER in answer["content"] and REASONING not in answer["content"]
        thinking = [item for item in answer["output"] if item["type"] == "reasoning"]
        assert len(thinking) == 1 and REASONING in thinking[0]["content"][0]["text"]
        wait.until(lambda b: len(quick.requests()) == 3)  # the turn's background tasks, sent after the answer
        turn = (reasoning.requests(), quick.requests())

        # The cloud model, chosen as a person does from a link: its reasoning_content shows the same way.
        browser.get(f"{webui.url}/?models=deepseek.deepseek-reasoner")
        wait.until(lambda b: b.find_elements(By.ID, "chat-input"))
        ask("What is 17 times 23?")
        wait.until(lambda b: thought() is not None and ANSWER in b.find_element(By.TAG_NAME, "body").text)
        assert "deepseek.deepseek-reasoner" in browser.find_element(By.TAG_NAME, "body").text
        wait.until(lambda b: thought().get_attribute("aria-expanded") == "false")
        assert REASONING not in browser.find_element(By.TAG_NAME, "body").text
        browser.save_screenshot(str(ARTIFACTS / "openwebui-cloud-reasoning-collapsed.png"))
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
