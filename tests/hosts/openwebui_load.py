"""People using Open WebUI at the same minute, as its web page does: each signs in, opens its websocket
(socket.io, as the page does), asks one question in a new chat (``POST /api/chat/completions`` with
``parent_id: null``, so Open WebUI creates and saves the chat), receives the answer streamed over the websocket,
and counts only when the answer is saved in the chat (``GET /api/v1/chats/<id>``).

Run with the real Open WebUI's own Python (it carries python-socketio and aiohttp):

    $OPENWEBUI_VENV/bin/python tests/hosts/openwebui_load.py URL MODEL --people 200 --admin-email E
    (the admin's password is read from the environment variable LOAD_ADMIN_PASSWORD, never the command line)

Accounts are made beforehand by the admin; the clock starts when everyone starts together. Prints one JSON object:
people, saved, the seconds until saved (p50, p95, max), every error counted by kind, and each dropped socket
counted by why it dropped.

``--drop N``: the first N people have their socket closed by Open WebUI itself as they send their question (the
admin changes their role, and Open WebUI disconnects every socket of a person whose role changed), to show that a
person whose socket the server closes still gets the answer, as the page does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import statistics
import time
import uuid
from collections import Counter

import aiohttp
import socketio

PASSWORD = "Load-pass-123!"
JOIN_WAIT_S = 60  # how long a socket that came back waits for Open WebUI to file it before the page goes on
# (generous: a join answered late on a loaded machine must still come first; an unanswered one costs a minute of 10)
LOOK_AGAIN_S = 2  # a page whose answer is still pending after its socket came back looks again (a person's reload)
RELOAD_AFTER_S = 30  # a person whose socket dropped and whose answer shows nothing new for this long reloads the page
STALL_S = 90  # anyone whose answer shows nothing new for this long reloads too (a whole answer streams in ~50 s)
# A page that gets a server error (5xx) tries again after a pause, as a person reloads: on the 2-core machine a burst
# of 200 sign-ins once held every connection of Open WebUI's database pool past its 60 s wait (QueuePool timeouts,
# "models 500"). Each retry is counted and printed.
SERVER_ERROR_TRIES = 3
SERVER_ERROR_PAUSE_S = 5
QUESTION = "What is the sum of the first 50 odd numbers?"


async def _json(response: aiohttp.ClientResponse) -> object:
    text = await response.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


class Retries:
    """Server errors a person's page met and tried again after (SERVER_ERROR_TRIES at most for each request)."""

    def __init__(self) -> None:
        self.count = 0

    async def request(self, http: aiohttp.ClientSession, method: str, url: str, **kwargs) -> tuple[int, object]:
        """(status, body) of the request, tried again after a pause while the server answers 5xx."""
        for attempt in range(SERVER_ERROR_TRIES):
            async with http.request(method, url, **kwargs) as response:
                body = await _json(response)
                if response.status < 500 or attempt + 1 == SERVER_ERROR_TRIES:
                    return response.status, body
            self.count += 1
            await asyncio.sleep(SERVER_ERROR_PAUSE_S)
        raise AssertionError("unreachable")


async def signin(http: aiohttp.ClientSession, url: str, email: str, password: str,
                 retries: Retries | None = None) -> str:
    status, body = await (retries or Retries()).request(http, "POST", f"{url}/api/v1/auths/signin",
                                                        json={"email": email, "password": password})
    if status != 200 or not isinstance(body, dict):
        raise RuntimeError(f"sign-in {status}")
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


class Page:
    """One person's socket.io connection, kept up the way Open WebUI's page keeps it (src/routes/+layout.svelte):
    the client reconnects by itself after a lost transport (after 1 s, at most 5 s apart, randomised by half), and
    the page connects again itself when the server closed the socket ('io server disconnect'), which python-socketio
    leaves closed; on every connect it sends `user-join`, and once a chat is under way it does what the chat page
    does on a connect (src/lib/components/chat/Chat.svelte, handleSocketConnect): it asks for the chat's tasks and,
    when none is left, loads the chat, where the finished answer is saved. Each drop is counted by its reason."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url
        self.http = http
        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=1, reconnection_delay_max=5,
                                           randomization_factor=0.5)
        self.token = ""
        self.leaving = False
        self.drops: Counter = Counter()
        self.connects = 0
        self.joins_unanswered = 0  # user-joins Open WebUI never answered (their socket's session lost meanwhile)
        self.on_reconnect = None  # the chat page's handler, set once a chat is under way
        self._reconnecting: asyncio.Task | None = None
        self._handlers: set[asyncio.Task] = set()  # the chat page's handlers under way (the loop keeps weak refs)
        self.client.on("connect", self._connected)
        self.client.on("disconnect", self._disconnected)

    async def connect(self) -> None:
        await self.client.connect(self.url, socketio_path="/ws/socket.io", transports=["websocket"],
                                  auth={"token": self.token}, wait_timeout=60)

    async def _connected(self) -> None:
        self.connects += 1
        if self.connects == 1 or not self.on_reconnect:
            await self.client.emit("user-join", {"auth": {"token": self.token}})
            return
        self.handle(self.catch_up())

    def handle(self, handler) -> None:
        """Run one of the chat page's handlers beside the page's other work, until it ends or the page closes."""
        task = asyncio.get_running_loop().create_task(handler)
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    async def catch_up(self) -> None:
        """The chat page's handler on a connect: once this socket is in its person's room (Open WebUI acknowledges
        the connect before it files the socket, so the join is awaited), events reach it again; what finished
        while it was away is loaded from the saved chat."""
        try:
            await self.client.call("user-join", {"auth": {"token": self.token}}, timeout=JOIN_WAIT_S)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            # no answer: Open WebUI lost this socket's session as it joined ('Session not found' in its log, the
            # socket closed under it); the page runs its connect handler all the same
            self.joins_unanswered += 1
        if self.on_reconnect:
            await self.on_reconnect()

    async def _disconnected(self, reason: str = "unknown") -> None:
        if self.leaving:
            return
        self.drops[reason] += 1
        if reason == self.client.reason.SERVER_DISCONNECT and not self._reconnecting:
            self._reconnecting = asyncio.get_running_loop().create_task(self._connect_again())

    async def _connect_again(self) -> None:
        """The page's `_socket.connect()` after the server closed the socket, retried as its client retries."""
        delay = 1.0
        try:
            while not self.leaving:
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                if self.leaving or self.client.connected:
                    return
                try:
                    await self.connect()
                    return
                except (socketio.exceptions.ConnectionError, ValueError):  # refused, or still closing
                    delay = min(delay * 2, 5.0)
        finally:
            self._reconnecting = None

    async def leave(self) -> None:
        self.leaving = True
        if self._reconnecting:
            self._reconnecting.cancel()
        for handler in list(self._handlers):  # the page is closed: its handlers end with it
            handler.cancel()
        await self.client.disconnect()  # also ends a reconnection under way


async def one_person(url: str, model: str, email: str, start: asyncio.Event, timeout: float,
                     drop_by: str | None = None) -> dict:
    """One person's chat: their outcome (saved or the error), the seconds from the start until it was saved, and
    how the answer reached them (streamed, or loaded by the page once its socket came back).

    With ``drop_by`` (the admin's token), Open WebUI closes this person's socket just as the question is sent, the
    moment the lost answers of earlier runs had: the question goes with the id of the socket just closed."""
    outcome: dict = {"saved": False}
    done = asyncio.Event()
    deltas = 0
    loaded = False
    failed: list[str] = []
    answer_id = str(uuid.uuid4())
    chat_id = ""
    looked_again = 0  # the page's second and later looks at a pending answer's tasks
    reloaded = False  # whether the person reloaded a page whose answer stalled after its socket dropped
    stalled_without_drop = False  # ... or whose answer finished unheard on a socket that never dropped
    still_running = 0  # quiet stretches of STALL_S while Open WebUI still listed the answer's task (waited on)
    last_event = 0.0  # when an event of this answer last arrived
    retries = Retries()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        page = Page(url, http)

        async def load_if_finished() -> None:
            """The chat page with an unfinished answer and no task left for it loads the saved chat. While the
            answer's task is still listed it looks again every LOOK_AGAIN_S: the answer's last events and its
            `chat:active` false can all go out while the socket is away (between its return and Open WebUI filing
            it in the person's room), and the task is taken off the list only after them, so one look can find
            the task still there and nothing would come after; in a browser the person reloads the page."""
            nonlocal loaded, looked_again
            headers = {"Authorization": f"Bearer {page.token}"}
            first = True
            while chat_id and not done.is_set() and not page.leaving:
                if not first:
                    looked_again += 1
                    await asyncio.sleep(LOOK_AGAIN_S)
                first = False
                async with http.get(f"{url}/api/tasks/chat/{chat_id}", headers=headers) as response:
                    tasks = await _json(response)
                if response.status != 200 or not isinstance(tasks, dict) or tasks.get("task_ids"):
                    continue
                message = await saved_answer(http, url, chat_id, answer_id, headers)
                if message.get("done") and message.get("content") and not done.is_set():
                    loaded = True
                    done.set()

        async def answer_running() -> bool:
            """Whether Open WebUI still lists a task for this chat (the answer under way), as the page asks."""
            async with http.get(f"{url}/api/tasks/chat/{chat_id}",
                                headers={"Authorization": f"Bearer {page.token}"}) as response:
                tasks = await _json(response)
            return response.status == 200 and isinstance(tasks, dict) and bool(tasks.get("task_ids"))

        async def _events(event: dict) -> None:
            nonlocal deltas, last_event
            data = event.get("data") or {}
            if event.get("message_id") != answer_id:
                return
            last_event = time.monotonic()
            if data.get("type") == "chat:completion":
                deltas += 1
                if (data.get("data") or {}).get("done"):
                    done.set()
            elif data.get("type") == "chat:active" and not (data.get("data") or {}).get("active"):
                page.handle(load_if_finished())  # Chat.svelte: `chat:active` false with the answer pending loads it
            elif data.get("type") == "chat:message:error":  # Open WebUI tells the page the answer failed
                failed.append(str(((data.get("data") or {}).get("error") or {}).get("content", "error"))[:80])
                done.set()

        page.client.on("events", _events)
        await start.wait()
        began = time.monotonic()
        step = "sign-in"
        try:
            page.token = await signin(http, url, email, PASSWORD, retries)
            step = "models"  # the page lists the models first (and Open WebUI's worker learns them so)
            status, listed = await retries.request(http, "GET", f"{url}/api/models",
                                                   headers={"Authorization": f"Bearer {page.token}"})
            if status != 200 or not isinstance(listed, dict) or not any(
                    m.get("id") == model for m in listed.get("data", [])):
                raise RuntimeError(f"models {status}: {model} not listed")
            step = "websocket"
            await page.connect()
            session_id = page.client.get_sid("/")
            if drop_by:
                step = "socket closed by the server"
                # Open WebUI acknowledges a connect before it has checked the token and filed the socket under its
                # person (always_connect), so the role change could find no socket to close: wait until the
                # server has filed this one (its answer to a user-join), then have it closed.
                try:
                    await page.client.call("user-join", {"auth": {"token": page.token}}, timeout=120)
                except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                    page.joins_unanswered += 1  # a loaded server lost the socket first, or has not answered yet
                if not page.drops:  # still up: have Open WebUI close it (a socket it has not filed stays open)
                    await close_sockets_of(http, url, drop_by, user_id_of(page), retries)
                await wait_until(lambda: bool(page.drops), 120)
            step = "completion"
            user_message_id = str(uuid.uuid4())
            body = {"model": model, "stream": True, "messages": [{"role": "user", "content": QUESTION}],
                    "parent_id": None, "id": answer_id, "session_id": session_id, "chat_id": "",
                    "user_message": {"id": user_message_id, "parentId": None, "childrenIds": [], "role": "user",
                                     "content": QUESTION, "timestamp": int(time.time()), "models": [model]},
                    "background_tasks": {}, "features": {}, "params": {}}
            headers = {"Authorization": f"Bearer {page.token}"}
            connects_when_asked = page.connects
            async with http.post(f"{url}/api/chat/completions", json=body, headers=headers) as response:
                answer = await _json(response)
                if response.status != 200 or not isinstance(answer, dict) or not answer.get("chat_id"):
                    detail = str(answer.get("detail", "") if isinstance(answer, dict) else answer)
                    raise RuntimeError(f"completion {response.status} {detail.splitlines()[0][:60] if detail else ''}"
                                       .strip())
            chat_id = answer["chat_id"]
            page.on_reconnect = load_if_finished  # Chat.svelte's handleSocketConnect, from now on
            if page.connects > connects_when_asked:
                # The page knows its chat before it asks; here the chat's id comes with the answer to the question,
                # so a socket that came back while the question was under way catches up now, as the page would
                # have on that connect (an answer may have finished while the socket was away); beside the wait
                # below, which bounds it.
                page.handle(page.catch_up())
            step = "streamed answer"
            waited = 0.0
            last_event = time.monotonic()
            while not done.is_set():
                try:
                    await asyncio.wait_for(done.wait(), RELOAD_AFTER_S)
                except TimeoutError:
                    waited += RELOAD_AFTER_S
                    if waited >= timeout:
                        raise RuntimeError("no streamed answer") from None
                    stalled = time.monotonic() - last_event >= STALL_S
                    if stalled and not page.drops and not reloaded and await answer_running():
                        # Open WebUI still lists the answer's task: the page shows it under way, and a person waits
                        # on (a slow machine can leave 200 streams without an event this long); only an answer
                        # finished while its page heard nothing is one the page missed
                        still_running += 1
                        last_event = time.monotonic()
                        continue
                    if (page.drops or stalled) and not reloaded:
                        # A person whose connection dropped and whose answer then stalls reloads the page, which
                        # loads the chat once its answer's task is gone: the page's own catch-up on a connect can
                        # miss it (the answer's last events and chat:active false can go out before Open WebUI
                        # files the returning socket, or before the question's reply names the chat). So does
                        # anyone whose answer shows nothing new for STALL_S: one of 200 sockets that never dropped
                        # has been seen to miss its answer's events under this load (the answer saved all the same).
                        reloaded = True
                        stalled_without_drop = not page.drops
                        page.handle(load_if_finished())
            if failed:
                raise RuntimeError(f"answer failed: {failed[0]}")
            step = "saved answer"
            deadline = time.monotonic() + 60
            while True:  # the answer is saved as it finishes streaming; allow for a loaded host
                message = await saved_answer(http, url, chat_id, answer_id, headers)
                if message.get("done") and message.get("content"):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("answer streamed but never saved")
                await asyncio.sleep(1)
            outcome = {"saved": True, "seconds": time.monotonic() - began, "deltas": deltas, "loaded": loaded}
        except Exception as error:  # noqa: BLE001 - every failure is counted by kind, none stops the others
            outcome = {"saved": False, "error": f"{step}: {error}" if step not in str(error) else str(error)}
        finally:
            outcome["drops"] = page.drops
            outcome["joins_unanswered"] = page.joins_unanswered
            outcome["looked_again"] = looked_again
            outcome["reloaded"] = reloaded
            outcome["stalled_without_drop"] = stalled_without_drop
            outcome["quiet_while_running"] = still_running
            outcome["server_errors_retried"] = retries.count
            await page.leave()
    return outcome


async def wait_until(condition, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {seconds:.0f} s")
        await asyncio.sleep(0.1)


def user_id_of(page: Page) -> str:
    """The person's id, from their token (Open WebUI's JWT carries it; read, not verified)."""
    payload = page.token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["id"]


async def close_sockets_of(http: aiohttp.ClientSession, url: str, admin_token: str, user_id: str,
                           retries: Retries) -> None:
    """The admin changes the person's role; Open WebUI then disconnects each of that person's sockets
    (events.py: USER_ROLE_UPDATED, socket/main.py: disconnect_user_sessions)."""
    status, _ = await retries.request(http, "POST", f"{url}/api/v1/users/{user_id}/update", json={"role": "admin"},
                                      headers={"Authorization": f"Bearer {admin_token}"})
    if status != 200:
        raise RuntimeError(f"role change {status}")


async def saved_answer(http: aiohttp.ClientSession, url: str, chat_id: str, answer_id: str, headers: dict) -> dict:
    """The answer's message as saved in the chat ({} while there is none)."""
    async with http.get(f"{url}/api/v1/chats/{chat_id}", headers=headers) as response:
        chat = await _json(response)
    if response.status == 200 and isinstance(chat, dict):
        return ((chat.get("chat") or {}).get("history") or {}).get("messages", {}).get(answer_id, {})
    return {}


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
    parser.add_argument("--drop", type=int, default=0, help="people whose socket Open WebUI closes mid-answer")
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
                                             options.timeout, admin if n < options.drop else None))
              for n in range(options.people)]
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
                      "streamed_deltas_min": min((o["deltas"] for o in outcomes if o["saved"] and not o["loaded"]),
                                                     default=0),
                      "loaded_after_reconnect": sum(o.get("loaded", False) for o in outcomes),
                      "websocket_drops": sum(sum(o["drops"].values()) for o in outcomes),
                      "drops_by_reason": dict(sum((o["drops"] for o in outcomes), Counter())),
                      "people_dropped": sum(bool(o["drops"]) for o in outcomes),
                      "joins_unanswered": sum(o["joins_unanswered"] for o in outcomes),
                      "looked_again": sum(o["looked_again"] for o in outcomes),
                      "reloaded_after_stall": sum(o["reloaded"] for o in outcomes),
                      "stalled_without_drop": sum(o["stalled_without_drop"] for o in outcomes),
                      "quiet_while_running": sum(o["quiet_while_running"] for o in outcomes),
                      "server_errors_retried": sum(o["server_errors_retried"] for o in outcomes),
                      "driver_loop_lag_max_s": round(lag.max_s, 1)}))


if __name__ == "__main__":
    asyncio.run(main())
