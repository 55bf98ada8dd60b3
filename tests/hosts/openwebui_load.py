"""People using Open WebUI at the same minute, as its web page does: each signs in, opens its websocket
(socket.io, as the page does), asks one question in a new chat (``POST /api/chat/completions`` with
``parent_id: null``, so Open WebUI creates and saves the chat), receives the answer streamed over the websocket,
and counts only when the answer is saved in the chat (``GET /api/v1/chats/<id>``).

Run with the real Open WebUI's own Python (it carries python-socketio and aiohttp):

    $OPENWEBUI_VENV/bin/python tests/hosts/openwebui_load.py URL MODEL --people 200 --admin-email E
    (the admin's password is read from the environment variable LOAD_ADMIN_PASSWORD, never the command line)

Accounts are made beforehand by the admin; the clock starts when everyone starts together. Prints one JSON object:
people, saved, the seconds until saved (p50, p95, max), and every error counted by kind.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from collections import Counter

import aiohttp
import socketio

PASSWORD = "Load-pass-123!"
QUESTION = "What is the sum of the first 50 odd numbers?"


async def _json(response: aiohttp.ClientResponse) -> object:
    text = await response.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


async def signin(http: aiohttp.ClientSession, url: str, email: str, password: str) -> str:
    async with http.post(f"{url}/api/v1/auths/signin", json={"email": email, "password": password}) as response:
        body = await _json(response)
        if response.status != 200:
            raise RuntimeError(f"sign-in {response.status}")
        return body["token"]


async def make_accounts(http: aiohttp.ClientSession, url: str, admin_token: str, people: int, prefix: str) -> None:
    """The admin adds every account (a few at a time, as an admin's script would); existing ones are kept."""
    limit = asyncio.Semaphore(4)

    async def add(n: int) -> None:
        async with limit:
            body = {"name": f"Person {n}", "email": f"{prefix}{n}@example.com", "password": PASSWORD, "role": "user"}
            async with http.post(f"{url}/api/v1/auths/add", json=body,
                                 headers={"Authorization": f"Bearer {admin_token}"}) as response:
                answer = await _json(response)
                if response.status != 200 and "already" not in str(answer).lower():
                    raise RuntimeError(f"adding account {n}: {response.status} {answer}")

    await asyncio.gather(*(add(n) for n in range(people)))


class LoopLag:
    """How late this process's event loop runs a timer: the driver's 200 people share one loop and the machine's cores
    with the server, and a late loop answers the server's pings late (a real person's browser has a machine of its
    own). The figure tells a server's fault from the driver's."""

    def __init__(self) -> None:
        self.max_s = 0.0

    async def watch(self, every: float = 0.25) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(every)
            self.max_s = max(self.max_s, time.monotonic() - before - every)


async def one_person(url: str, model: str, email: str, start: asyncio.Event, timeout: float) -> dict:
    """One person's chat: their outcome (saved or the error) and the seconds from the start until it was saved.

    The websocket behaves as Open WebUI's page sets up its socket.io client (src/routes/+layout.svelte): it
    reconnects (after 1 s, at most 5 s apart, randomised by half) and joins again on every connect, so that a
    dropped socket gets the rest of the answer on its new one (Open WebUI sends a chat's events to every socket
    its person has joined). Each drop is counted."""
    outcome: dict = {"saved": False}
    client = socketio.AsyncClient(reconnection=True, reconnection_delay=1, reconnection_delay_max=5,
                                  randomization_factor=0.5)
    done = asyncio.Event()
    deltas = 0
    drops = 0
    leaving = False
    failed: list[str] = []
    answer_id = str(uuid.uuid4())
    token = ""

    @client.event
    async def connect() -> None:  # the page: `user-join` on each connect, the first and every reconnect
        await client.emit("user-join", {"auth": {"token": token}})

    @client.event
    async def disconnect(*_reason) -> None:
        nonlocal drops
        drops += 0 if leaving else 1

    @client.on("events")
    async def _events(event: dict) -> None:
        nonlocal deltas
        data = event.get("data") or {}
        if event.get("message_id") != answer_id:
            return
        if data.get("type") == "chat:completion":
            deltas += 1
            if (data.get("data") or {}).get("done"):
                done.set()
        elif data.get("type") == "chat:message:error":  # Open WebUI tells the page the answer failed
            failed.append(str(((data.get("data") or {}).get("error") or {}).get("content", "error"))[:80])
            done.set()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        await start.wait()
        began = time.monotonic()
        step = "sign-in"
        try:
            token = await signin(http, url, email, PASSWORD)
            step = "models"  # the page lists the models first (and Open WebUI's worker learns them so)
            async with http.get(f"{url}/api/models", headers={"Authorization": f"Bearer {token}"}) as response:
                listed = await _json(response)
                if response.status != 200 or not any(m.get("id") == model for m in listed.get("data", [])):
                    raise RuntimeError(f"models {response.status}: {model} not listed")
            step = "websocket"
            await client.connect(url, socketio_path="/ws/socket.io", transports=["websocket"],
                                 auth={"token": token}, wait_timeout=60)
            step = "completion"
            user_id = str(uuid.uuid4())
            body = {"model": model, "stream": True, "messages": [{"role": "user", "content": QUESTION}],
                    "parent_id": None, "id": answer_id, "session_id": client.get_sid("/"), "chat_id": "",
                    "user_message": {"id": user_id, "parentId": None, "childrenIds": [], "role": "user",
                                     "content": QUESTION, "timestamp": int(time.time()), "models": [model]},
                    "background_tasks": {}, "features": {}, "params": {}}
            headers = {"Authorization": f"Bearer {token}"}
            async with http.post(f"{url}/api/chat/completions", json=body, headers=headers) as response:
                answer = await _json(response)
                if response.status != 200 or not isinstance(answer, dict) or not answer.get("chat_id"):
                    detail = str(answer.get("detail", "") if isinstance(answer, dict) else answer)
                    raise RuntimeError(f"completion {response.status} {detail.splitlines()[0][:60] if detail else ''}"
                                       .strip())
            chat_id = answer["chat_id"]
            step = "streamed answer"
            try:
                await asyncio.wait_for(done.wait(), timeout)
            except TimeoutError:
                raise RuntimeError("no streamed answer") from None
            if failed:
                raise RuntimeError(f"answer failed: {failed[0]}")
            step = "saved answer"
            deadline = time.monotonic() + 60
            while True:  # the answer is saved as it finishes streaming; allow for a loaded host
                async with http.get(f"{url}/api/v1/chats/{chat_id}", headers=headers) as response:
                    chat = await _json(response)
                message = {}
                if response.status == 200 and isinstance(chat, dict):
                    message = ((chat.get("chat") or {}).get("history") or {}).get("messages", {}).get(answer_id, {})
                if message.get("done") and message.get("content"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("answer streamed but never saved")
                await asyncio.sleep(1)
            outcome = {"saved": True, "seconds": time.monotonic() - began, "deltas": deltas}
        except Exception as error:  # noqa: BLE001 - every failure is counted by kind, none stops the others
            outcome = {"saved": False, "error": f"{step}: {error}" if step not in str(error) else str(error)}
        finally:
            outcome["drops"] = drops
            leaving = True
            await client.disconnect()  # also ends a reconnection under way
    return outcome


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))] if ordered else 0.0


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("model")
    parser.add_argument("--people", type=int, default=200)
    parser.add_argument("--admin-email", default="admin@localhost")
    parser.add_argument("--prefix", default="person")
    parser.add_argument("--timeout", type=float, default=600)
    options = parser.parse_args()
    url = options.url.rstrip("/")
    async with aiohttp.ClientSession() as http:
        admin = await signin(http, url, options.admin_email, os.environ["LOAD_ADMIN_PASSWORD"])
        made = time.monotonic()
        await make_accounts(http, url, admin, options.people, options.prefix)
        accounts_s = time.monotonic() - made
    start = asyncio.Event()
    lag = LoopLag()
    watcher = asyncio.create_task(lag.watch())
    people = [asyncio.create_task(one_person(url, options.model, f"{options.prefix}{n}@example.com", start,
                                             options.timeout)) for n in range(options.people)]
    await asyncio.sleep(0.5)  # every task waits at the start line
    began = time.monotonic()
    start.set()
    outcomes = await asyncio.gather(*people)
    watcher.cancel()
    seconds = [o["seconds"] for o in outcomes if o["saved"]]
    errors = Counter(o["error"] for o in outcomes if not o["saved"])
    print(json.dumps({"people": options.people, "saved": len(seconds), "errors": dict(errors),
                      "p50_s": round(statistics.median(seconds), 2) if seconds else None,
                      "p95_s": round(percentile(seconds, 0.95), 2), "max_s": round(max(seconds, default=0), 2),
                      "wall_s": round(time.monotonic() - began, 1), "accounts_s": round(accounts_s, 1),
                      "streamed_deltas_min": min((o.get("deltas", 0) for o in outcomes if o["saved"]), default=0),
                      "websocket_drops": sum(o["drops"] for o in outcomes),
                      "driver_loop_lag_max_s": round(lag.max_s, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
