"""One headless Chromium for a whole test file, driven over the DevTools protocol.

Starting Chromium costs about a second; a report has ten pages in two
languages for two shops, and each page is read several ways (its layout width,
the text a reader sees, its images' alt texts, console errors, a screenshot).
:class:`Browser` starts Chromium once and opens each page in the same tab over
the Chrome DevTools Protocol (a WebSocket, through ``websocket-client``, which
Jupyter already needs), so a page costs its own load time only.

Only what the tests use is here: navigate and wait for the load event,
evaluate an expression, collect console messages and uncaught exceptions,
capture a full-page screenshot at a fixed viewport width.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["Browser", "chromium"]

#: Console message types a test treats as errors.
LOUD = ("error", "warning", "assert")


def chromium() -> str | None:
    """The Chromium executable on PATH (Debian's ``chromium`` first), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """A headless Chromium with one tab, at a 1,280 px wide viewport.

    Use as a context manager::

        with Browser() as b:
            page = b.open(Path("index.html"))
            page["scroll_width"], page["console"]
    """

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60.0) -> None:
        self.width, self.height, self.timeout = width, height, timeout
        self._proc: subprocess.Popen[str] | None = None
        self._ws: Any = None
        self._id = 0
        self._events: list[dict[str, Any]] = []
        self._profile = tempfile.mkdtemp(prefix="ecrm-chromium-")

    # -- life cycle ------------------------------------------------------------
    def __enter__(self) -> Browser:
        import websocket

        exe = chromium()
        if exe is None:
            raise RuntimeError("chromium is not installed (make browser)")
        self._proc = subprocess.Popen(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        port = self._port()
        ws_url = self._page_target(port)
        self._ws = websocket.create_connection(ws_url, timeout=self.timeout, suppress_origin=True)
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._ws is not None:
                self._ws.close()
        finally:
            if self._proc is not None:
                self._proc.kill()
                self._proc.wait(timeout=10)
            shutil.rmtree(self._profile, ignore_errors=True)

    def _port(self) -> int:
        assert self._proc is not None and self._proc.stderr is not None
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            line = self._proc.stderr.readline()
            if not line and self._proc.poll() is not None:
                break
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                # keep draining stderr so Chromium never blocks on a full pipe
                import threading

                threading.Thread(target=self._proc.stderr.read, daemon=True).start()
                return int(m[1])
        raise RuntimeError("chromium did not start its DevTools endpoint")

    @staticmethod
    def _page_target(port: int) -> str:
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                    targets = json.load(r)
                pages = [t for t in targets if t.get("type") == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("chromium has no page target")
            time.sleep(0.1)

    # -- protocol ----------------------------------------------------------------
    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events that arrive meanwhile are kept)."""
        self._id += 1
        my_id = self._id
        self._ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self._events.append(msg)

    def _wait_event(self, method: str) -> dict[str, Any]:
        for i, ev in enumerate(self._events):
            if ev["method"] == method:
                return self._events.pop(i)
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            msg = json.loads(self._ws.recv())
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self._events.append(msg)
            if msg.get("method") == "Page.javascriptDialogOpening":
                # an alert() blocks the page's load: dismiss it (the event stays recorded)
                self._id += 1
                self._ws.send(
                    json.dumps(
                        {
                            "id": self._id,
                            "method": "Page.handleJavaScriptDialog",
                            "params": {"accept": False},
                        }
                    )
                )
        raise TimeoutError(f"no {method} within {self.timeout} s")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the open page (JSON-serialisable)."""
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression!r}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def events(self, method: str) -> list[dict[str, Any]]:
        """The events of kind ``method`` seen since the page was opened (their params)."""
        return [ev.get("params", {}) for ev in self._events if ev["method"] == method]

    # -- what the tests read -----------------------------------------------------
    def open(self, page: Path) -> dict[str, Any]:
        """Load ``page`` and read it as a reader's browser shows it.

        Returns
        -------
        dict
            ``scroll_width`` (px, of the whole document at the viewport width),
            ``text`` (the visible text, ``innerText``), ``images`` (each
            ``img``'s alt text, None when the attribute is missing),
            ``console`` (console messages of level warning/error, uncaught
            exceptions and log entries of level error, as text).
        """
        self._events.clear()
        self.call("Page.navigate", url=page.resolve().as_uri())
        self._wait_event("Page.loadEventFired")
        info = self.evaluate(
            "({scroll_width: document.documentElement.scrollWidth,"
            " text: document.body ? document.body.innerText : '',"
            " images: Array.from(document.images).map(i => i.getAttribute('alt'))})"
        )
        console = []
        for ev in self._events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.exceptionThrown":
                console.append(str(p.get("exceptionDetails", {}).get("text")))
            elif ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in LOUD:
                console.append(" ".join(str(a.get("value")) for a in p.get("args", [])))
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                console.append(str(p["entry"].get("text")))
        info["console"] = console
        return info

    def screenshot(self, target: Path) -> Path:
        """Save a full-page PNG of the open page (viewport width, the page's whole height)."""
        height = int(self.evaluate("document.documentElement.scrollHeight") or self.height)
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": self.width, "height": min(height, 16000), "scale": 1},
        )
        target.write_bytes(base64.b64decode(shot["data"]))
        return target
