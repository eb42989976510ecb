#!/usr/bin/env python3
"""util/browser.py URL SCREENSHOT.png: loads URL in headless Chromium and
fails (exit 1) on any sub-resource that failed or answered >= 400, any
console error or uncaught exception, any <img> that did not load, and a
stylesheet that was not applied; writes a screenshot of the first screen.

Talks to Chromium over the DevTools protocol with the Python standard
library only (a minimal WebSocket client).  The browser runs with a new
temporary profile and --remote-debugging-port=0 (Chromium picks a free port
and writes it to DevToolsActivePort).  CHROMIUM=path overrides the browser,
BROWSER_WIDTH/BROWSER_HEIGHT the window (1280x900)."""

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

TIMEOUT = float(os.environ.get("BROWSER_TIMEOUT", "30"))


class WebSocket:
    def __init__(self, url):
        assert url.startswith("ws://")
        hostport, _, path = url[5:].partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), TIMEOUT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            "GET /%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % (path, hostport, key)
        ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise IOError("websocket: connection closed in handshake")
            head += chunk
        head, _, self.buf = head.partition(b"\r\n\r\n")
        self.partial = b""
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise IOError("websocket: handshake refused: %r" % head[:200])

    def _fill(self, n):
        # a timeout here leaves self.buf whole: recv() can be called again
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise IOError("websocket: connection closed")
            self.buf += chunk

    def _send_frame(self, opcode, payload):
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + body)

    def send(self, text):
        self._send_frame(1, text.encode())

    def recv(self):
        """The next text message; frames are taken from self.buf only once
        whole, so a socket timeout loses nothing."""
        while True:
            self._fill(2)
            b0, b1 = self.buf[0], self.buf[1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                self._fill(4)
                n, head = struct.unpack(">H", self.buf[2:4])[0], 4
            elif n == 127:
                self._fill(10)
                n, head = struct.unpack(">Q", self.buf[2:10])[0], 10
            mask = b""
            if b1 & 0x80:
                self._fill(head + 4)
                mask, head = self.buf[head:head + 4], head + 4
            self._fill(head + n)
            payload = self.buf[head:head + n]
            self.buf = self.buf[head + n:]
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            opcode = b0 & 0x0F
            if opcode == 8:
                raise IOError("websocket: closed by the browser")
            if opcode == 9:
                self._send_frame(10, payload)
                continue
            if opcode == 10:
                continue
            self.partial += payload
            if b0 & 0x80:
                message, self.partial = self.partial, b""
                return message.decode()


class Browser:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        mid = self.next_id
        self.ws.send(json.dumps({"id": mid, "method": method,
                                 "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, name, seconds, since=0):
        """Returns the first event NAME from self.events[since:], reading
        more until it comes."""
        deadline = time.time() + seconds
        seen = since
        while time.time() < deadline:
            for e in self.events[seen:]:
                if e["method"] == name:
                    return e
            seen = len(self.events)
            self.ws.sock.settimeout(max(0.05, deadline - time.time()))
            try:
                self.events.append(json.loads(self.ws.recv()))
            except socket.timeout:
                break
            finally:
                self.ws.sock.settimeout(TIMEOUT)
        raise RuntimeError("no %s within %ss" % (name, seconds))

    def settle(self, quiet):
        """Reads events until none came for QUIET seconds."""
        while True:
            self.ws.sock.settimeout(quiet)
            try:
                self.events.append(json.loads(self.ws.recv()))
            except socket.timeout:
                return
            finally:
                self.ws.sock.settimeout(TIMEOUT)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", expression=expression,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise RuntimeError("evaluate %s: %s"
                               % (expression, r["exceptionDetails"]))
        return r["result"].get("value")


def chromium():
    for c in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
              "google-chrome"):
        if c and shutil.which(c):
            return shutil.which(c)
    sys.exit("browser.py: no chromium (apt-get install chromium)")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: browser.py URL SCREENSHOT.png")
    url, shot = sys.argv[1], sys.argv[2]
    width = int(os.environ.get("BROWSER_WIDTH", "1280"))
    height = int(os.environ.get("BROWSER_HEIGHT", "900"))
    profile = tempfile.mkdtemp(prefix="wapress-chromium-")
    log = open(os.path.join(profile, "chromium.log"), "w")
    proc = subprocess.Popen([
        chromium(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        "--user-data-dir=" + profile, "--remote-debugging-port=0",
        "--remote-debugging-address=127.0.0.1",
        "--window-size=%d,%d" % (width, height), "about:blank",
    ], stdout=log, stderr=subprocess.STDOUT)
    problems = []
    try:
        portfile = os.path.join(profile, "DevToolsActivePort")
        deadline = time.time() + TIMEOUT
        while not (os.path.exists(portfile)
                   and open(portfile).read().count("\n") >= 1):
            if proc.poll() is not None or time.time() > deadline:
                sys.exit("browser.py: chromium did not start; see "
                         + log.name)
            time.sleep(0.1)
        port = int(open(portfile).read().split()[0])
        targets = json.load(urllib.request.urlopen(
            "http://127.0.0.1:%d/json/list" % port, timeout=TIMEOUT))
        page = next(t for t in targets if t["type"] == "page")
        b = Browser(WebSocket(page["webSocketDebuggerUrl"]))
        for domain in ("Page", "Network", "Runtime", "Log"):
            b.call(domain + ".enable")
        b.call("Network.setCacheDisabled", cacheDisabled=True)
        b.call("Emulation.setDeviceMetricsOverride", width=width,
               height=height, deviceScaleFactor=1, mobile=False)
        since = len(b.events)
        nav = b.call("Page.navigate", url=url)
        if nav.get("errorText"):
            problems.append("navigate %s: %s" % (url, nav["errorText"]))
        b.wait_event("Page.loadEventFired", TIMEOUT, since)
        # below-the-fold (loading="lazy") images load once scrolled to
        b.eval("window.scrollTo(0, document.body.scrollHeight)")
        b.settle(1.0)
        b.eval("new Promise(r => Promise.all(Array.from(document.images,"
               " i => i.decode().catch(() => 0))).then(r))")
        b.eval("window.scrollTo(0, 0)")
        b.settle(0.5)

        requests = {}
        for e in b.events:
            m, p = e["method"], e.get("params", {})
            if m == "Network.requestWillBeSent":
                requests[p["requestId"]] = p["request"]["url"]
            elif m == "Network.responseReceived":
                r = p["response"]
                if r["status"] >= 400:
                    problems.append("%s: HTTP %d" % (r["url"], r["status"]))
            elif m == "Network.loadingFailed":
                problems.append("%s: failed: %s" % (
                    requests.get(p["requestId"], p["requestId"]),
                    p.get("errorText")))
            elif m == "Runtime.consoleAPICalled" and p["type"] in (
                    "error", "assert"):
                problems.append("console.%s: %s" % (p["type"], " ".join(
                    str(a.get("value", a.get("description", "")))
                    for a in p["args"])))
            elif m == "Runtime.exceptionThrown":
                problems.append("exception: %s" % p["exceptionDetails"].get(
                    "text"))
            elif m == "Log.entryAdded" and p["entry"]["level"] == "error":
                problems.append("console: %s (%s)" % (
                    p["entry"]["text"], p["entry"].get("url", "")))

        broken = b.eval("Array.from(document.images).filter(i => "
                        "!i.complete || i.naturalWidth === 0)"
                        ".map(i => i.src)")
        for src in broken:
            problems.append("image not shown: %s" % src)
        sheets = b.eval("Array.from(document.styleSheets, s => "
                        "s.href + ' ' + s.cssRules.length)")
        bg = b.eval("getComputedStyle(document.querySelector("
                    "'.site-header')).backgroundColor")
        if not sheets or bg in ("rgba(0, 0, 0, 0)", "transparent", None):
            problems.append("stylesheet not applied (sheets %s, header "
                            "background %s)" % (sheets, bg))
        title = b.eval("document.title")
        loaded = sorted(set(requests.values()))

        shot_data = b.call("Page.captureScreenshot", format="png")["data"]
        with open(shot, "wb") as f:
            f.write(base64.b64decode(shot_data))
        print("browser.py: %s (\"%s\"): %d requests: %s" % (
            url, title, len(loaded), ", ".join(loaded)))
        print("browser.py: stylesheets %s; screenshot %s" % (sheets, shot))
        try:
            b.call("Browser.close")
        except (IOError, RuntimeError):
            pass
    finally:
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
    for p in problems:
        print("browser.py: FAIL: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
