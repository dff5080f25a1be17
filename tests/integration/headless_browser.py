"""Debian's headless Chromium driven over the DevTools protocol on a pipe (no extra package).

``--remote-debugging-pipe``: Chromium reads protocol messages on fd 3 and writes its own on
fd 4, each one JSON object ended by a NUL byte. One page target is attached (flat sessions),
so a test can evaluate JavaScript in the page and take screenshots without reloading it.

With ``credentials`` the page is opened as a person opens a page behind HTTP authentication:
Chromium gets the 401 and its challenge, and the log-in prompt it would show is answered
(``Fetch.authRequired``, the protocol's stand-in for the dialog a headless browser lacks).
What the page then loads itself (its EventSource) carries what Chromium cached, or nothing.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
TRAMPOLINE = (
    "import fcntl, os, sys\n"
    "high = [fcntl.fcntl(int(fd), fcntl.F_DUPFD, 100) for fd in sys.argv[1:3]]\n"
    "os.dup2(high[0], 3)\nos.dup2(high[1], 4)\n"
    "os.execv(sys.argv[3], sys.argv[3:])\n"
)
MESSAGE_TIMEOUT_SECONDS = 20.0
# A wrong password is asked again and again: answer that many prompts, then cancel.
MAXIMUM_PROMPTS = 3
# Where a run leaves its screenshots for a person to look at (else only in tmp_path).
SCREENSHOT_FOLDER_VARIABLE = "MEDIASTACK_SCREENSHOT_DIR"


class BrowserError(RuntimeError):
    """Chromium did not answer, or answered with an error."""


def chromium_path() -> str | None:
    """Return the Chromium binary, or None when it is not installed."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


def keep_screenshot(path: Path) -> None:
    """Copy a screenshot into the folder ``MEDIASTACK_SCREENSHOT_DIR`` names, when set."""
    folder = os.environ.get(SCREENSHOT_FOLDER_VARIABLE)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / path.name).write_bytes(path.read_bytes())


class HeadlessPage:
    """One headless Chromium showing ``url``; ``close()`` ends it. ``credentials`` (user,
    password): the answer to the log-in prompts (``prompts_answered`` counts them)."""

    def __init__(
        self, binary: str, url: str, profile: Path, credentials: tuple[str, str] | None = None
    ) -> None:
        to_browser_read, self._to_browser = os.pipe()
        self._from_browser, from_browser_write = os.pipe()
        arguments = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", "--hide-scrollbars",
            f"--user-data-dir={profile}", "--remote-debugging-pipe", "--window-size=1280,1800",
            "about:blank" if credentials else url,
        ]  # fmt: skip
        # A small Python puts the pipes on fd 3 and 4 and becomes Chromium (no preexec_fn:
        # this process has threads).
        pipes = (str(to_browser_read), str(from_browser_write))
        self._process = subprocess.Popen(
            [sys.executable, "-c", TRAMPOLINE, *pipes, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_browser_read, from_browser_write),
        )
        os.close(to_browser_read)
        os.close(from_browser_write)
        self._buffer = b""
        self._next_id = 0
        self._credentials = credentials
        self.prompts_answered = 0
        self._session = self._attach()
        if credentials:
            # Every request pauses (the protocol handles no challenge otherwise) and is let go
            # as it is; only a challenge is answered.
            patterns = [{"urlPattern": "*"}]
            self.call("Fetch.enable", {"handleAuthRequests": True, "patterns": patterns}, page=True)
            self.call("Page.navigate", {"url": url}, page=True)

    def _attach(self) -> str:
        deadline = time.monotonic() + MESSAGE_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            targets = self.call("Target.getTargets")["targetInfos"]
            pages = [target for target in targets if target["type"] == "page"]
            if pages:
                attached = self.call(
                    "Target.attachToTarget", {"targetId": pages[0]["targetId"], "flatten": True}
                )
                return str(attached["sessionId"])
            time.sleep(0.2)
        raise BrowserError("Chromium opened no page")

    def call(self, method: str, params: dict[str, Any] | None = None, *, page: bool = False) -> Any:
        """Send one protocol command (to the page's session when ``page``); return its result.
        Events that come meanwhile are handled (``_handle``)."""
        number = self._send(method, params or {}, page=page)
        while True:
            reply = self._receive()
            if "id" not in reply:
                self._handle(reply)
            elif reply["id"] == number:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _send(self, method: str, params: dict[str, Any], *, page: bool) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if page:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _handle(self, event: dict[str, Any]) -> None:
        """Let a paused request go on; answer a log-in prompt. Not waiting for the replies:
        this runs inside ``call``'s wait, and the replies to these are not looked at."""
        params = event.get("params", {})
        if event.get("method") == "Fetch.requestPaused":
            self._send("Fetch.continueRequest", {"requestId": params["requestId"]}, page=True)
        elif event.get("method") == "Fetch.authRequired":
            self._send("Fetch.continueWithAuth", self._prompt_answer(params), page=True)

    def _prompt_answer(self, params: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, str] = {"response": "CancelAuth"}
        if self._credentials is not None and self.prompts_answered < MAXIMUM_PROMPTS:
            self.prompts_answered += 1
            user, password = self._credentials
            answer = {"response": "ProvideCredentials", "username": user, "password": password}
        return {"requestId": params["requestId"], "authChallengeResponse": answer}

    def evaluate(self, expression: str) -> Any:
        """Return the value of ``expression`` evaluated in the page."""
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, page=True
        )
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout_seconds: float) -> Any:
        """Return the first truthy value of ``expression``; raise BrowserError at the timeout."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise BrowserError(f"still false after {timeout_seconds} s: {expression}")

    def screenshot(self, path: Path) -> Path:
        """Write a PNG of the whole page to ``path``."""
        result = self.call(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, page=True
        )
        path.write_bytes(base64.b64decode(result["data"]))
        return path

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._from_browser], [], [], MESSAGE_TIMEOUT_SECONDS)
            chunk = os.read(self._from_browser, 1_048_576) if ready else b""
            if not chunk:
                raise BrowserError("Chromium closed its pipe or did not answer in time")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        decoded: dict[str, Any] = json.loads(message)
        return decoded

    def close(self) -> None:
        """End the browser (this one process only), then free the pipes."""
        try:
            self._process.terminate()
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        finally:
            os.close(self._to_browser)
            os.close(self._from_browser)
