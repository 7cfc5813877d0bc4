"""End-to-end check of a deployment, from outside, as a browser would use it.

    LEDGERSHEET_PASSWORD=... .venv/bin/python deploy/smoke.py https://sheets.example.com admin budget

Logs in through the login form, loads the grid page, fetches a static file and
/healthz, opens several websockets to the sheet (nginx spreads them over the
daphne processes), edits one cell from the first and waits until every socket
has received that event: which proves delivery between processes through the
channel layer. ``--connect 127.0.0.1`` reaches nginx at that address while
keeping the host name for TLS and Host (before DNS points at the box);
``--insecure`` accepts a self-signed certificate. Exits non-zero on the first
failure.
"""

import argparse
import asyncio
import http.cookiejar
import os
import re
import ssl
import sys
import urllib.parse
import urllib.request
from pathlib import Path

# The websocket client is the project's own (proj/testing, no Django needed).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from proj.testing import ErrorFrame, ProtocolClient, WebsocketTransport, new_client_event_id  # noqa: E402

TIMEOUT_SECONDS = 10.0


class Site:
    """HTTP(S) to one deployment, with a cookie jar, optionally to a fixed address."""

    def __init__(self, base: str, connect: str | None, insecure: bool) -> None:
        self.base = base.rstrip("/")
        self.parts = urllib.parse.urlsplit(self.base)
        self.connect = connect
        self.ssl_context = ssl.create_default_context()
        if insecure:
            self.ssl_context.check_hostname = False
            self.ssl_context.verify_mode = ssl.CERT_NONE
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies),
            urllib.request.HTTPSHandler(context=self.ssl_context),
        )

    def request(self, path: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
        """(status, final URL path, body); redirects are followed."""
        host = self.connect or self.parts.netloc
        url = f"{self.parts.scheme}://{host}{path}"
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(url, data=body)
        # Host names the site even when we connect to an address; Referer is
        # what Django's CSRF check wants on https.
        request.add_header("Host", self.parts.netloc)
        request.add_header("Referer", f"{self.base}{path}")
        try:
            with self.opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, urllib.parse.urlsplit(response.url).path, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, path, error.read().decode(errors="replace")

    def cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self.cookies)


def check(condition: bool, what: str) -> None:
    print(("ok    " if condition else "FAIL  ") + what)
    if not condition:
        sys.exit(1)


def log_in(site: Site, username: str, password: str) -> None:
    status, _, page = site.request("/accounts/login/")
    check(status == 200, f"login page: {status}")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    check(token is not None, "login form carries a CSRF token")
    assert token is not None
    status, landed, _ = site.request(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token.group(1), "username": username, "password": password, "next": "/"},
    )
    check(status == 200 and landed != "/accounts/login/", f"logged in as {username} (landed on {landed})")


async def receive_until(socket: ProtocolClient, wanted: str) -> dict:
    """The first frame of type `wanted`; errors fail the check."""
    try:
        return (await socket.receive_until(wanted))[-1]
    except ErrorFrame as error:
        check(False, f"waiting for {wanted}, got {error.frame}")
        raise


async def edit_across_sockets(site: Site, sheet: str, clients: int) -> None:
    scheme = "wss" if site.parts.scheme == "https" else "ws"
    uri = f"{scheme}://{site.parts.netloc}/ws/sheet/{sheet}/"
    options: dict = {"origin": site.base, "cookie": site.cookie_header(), "max_size": None,
                     "timeout": TIMEOUT_SECONDS}
    if scheme == "wss":
        options["ssl"] = site.ssl_context
    if site.connect:
        # Only the TCP destination changes; TLS and Host keep the site's name.
        host, _, port = site.connect.partition(":")
        options.update(host=host, port=int(port or (443 if scheme == "wss" else 80)))
    sockets = [ProtocolClient(await WebsocketTransport.open(uri, **options), timeout=TIMEOUT_SECONDS,
                              raise_errors=True) for _ in range(clients)]
    try:
        heads = []
        for socket in sockets:
            await socket.send_subscribe(0)
            heads.append((await receive_until(socket, "caught_up"))["head"])
        check(True, f"{clients} websockets subscribed to {sheet} (head {max(heads)})")
        edit_id = new_client_event_id()
        value = f"smoke {edit_id[:8]}"
        await sockets[0].send_edit([(0, 0, value)], edit_id)
        ack = await receive_until(sockets[0], "ack")
        check(ack["client_event_id"] == edit_id, f"edit acknowledged, seqs {ack['seqs']}")
        for number, socket in enumerate(sockets, 1):
            while True:
                frame = await receive_until(socket, "events")
                if any(event["seq"] in ack["seqs"] for event in frame["events"]):
                    break
            check(True, f"socket {number} received the edit live")
    finally:
        for socket in sockets:
            await socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="the site's URL, e.g. https://sheets.example.com")
    parser.add_argument("username")
    parser.add_argument("sheet")
    parser.add_argument("--connect", help="address[:port] of nginx, instead of the name's DNS")
    parser.add_argument("--insecure", action="store_true", help="accept any TLS certificate")
    parser.add_argument("--clients", type=int, default=4, help="websockets to open (default 4)")
    args = parser.parse_args()
    password = os.environ.get("LEDGERSHEET_PASSWORD")
    if not password:
        parser.error("set LEDGERSHEET_PASSWORD to the user's password")
    site = Site(args.base, args.connect, args.insecure)

    status, _, body = site.request("/healthz")
    check(status == 200, f"/healthz: {status} {body.strip()}")
    log_in(site, args.username, password)
    status, _, page = site.request(f"/sheets/{args.sheet}/")
    check(status == 200, f"grid page /sheets/{args.sheet}/: {status}")
    scripts = re.findall(r'src="(/static/[^"]+\.js)"', page)
    check(bool(scripts), f"grid page loads {len(scripts)} scripts from /static/")
    status, _, _ = site.request(scripts[0])
    check(status == 200, f"static file {scripts[0]}: {status}")
    asyncio.run(edit_across_sockets(site, args.sheet, args.clients))
    print("all checks passed")


if __name__ == "__main__":
    main()
