#!/usr/bin/env python3
"""A real XMPP client, slixmpp, through one IM scenario against a server.

Run it through scripts/slixmpp.sh, which makes the venv with the pinned
slixmpp (tests/slixmpp/requirements.txt). Steps, each bounded by
--step-timeout:

  1. the contact logs in (with --contact-mode local: a second slixmpp
     session; with --contact-mode external: nothing, the contact is a peer
     of its own, optionally started by --peer-cmd once the user is online)
  2. the user connects over TCP, STARTTLS (--security starttls, the server
     certificate checked against --ca and the domain) or stays in the clear
     (--security plain), authenticates with SCRAM (--mechanisms limits the
     choice; the one used is printed), binds a resource
  3. the user gets the roster (an old item for the contact is removed first,
     so the scenario can run again against the same accounts)
  4. the user sends initial presence
  5. the user subscribes to the contact; the contact approves; the user sees
     `subscribed` and the roster push with subscription 'to' (or 'both')
  6. the contact's available presence reaches the user
  7. a chat message each way: user -> contact's bare JID, contact -> the
     user's full JID (the `from` of what it received)
  8. both close their streams; the server must close its own

Each step prints one line; any missing step exits 1 with what was missing.
The bytes each session sent and received are written to --xml-dir
(<name>.xml), slixmpp's own debug log to --debug-log.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shlex
import ssl
import sys
import time
from pathlib import Path

import slixmpp
from slixmpp import ClientXMPP, JID

T0 = time.monotonic()
SCRAM = ["SCRAM-SHA-512", "SCRAM-SHA-256", "SCRAM-SHA-1"]


def say(who: str, text: str) -> None:
    print(f"[{time.monotonic() - T0:6.3f}s] {who}: {text}", flush=True)


class StepFailed(Exception):
    """A step did not happen in time, or went wrong."""


class Session(ClientXMPP):
    """A slixmpp client that keeps every byte and every stanza it gets.

    `expect` waits for a stanza matching a predicate, whenever it arrived
    (stanzas nobody expected yet stay in the inbox), so an external peer may
    act in any order the server allows.
    """

    def __init__(self, name: str, jid: str, password: str, args: argparse.Namespace):
        mechanisms = {"use_mechs": set(args.mechanisms)}
        if args.security == "plain":
            # slixmpp refuses SCRAM in the clear unless told otherwise.
            mechanisms["unencrypted_scram"] = True
        super().__init__(jid, password, plugin_config={"feature_mechanisms": mechanisms})
        self.who = name
        self.args = args
        self.step_timeout = args.step_timeout
        # Every subscription decision is the scenario's, made explicitly.
        self.auto_authorize = None
        self.auto_subscribe = False
        self.enable_direct_tls = False
        self.enable_starttls = args.security == "starttls"
        self.enable_plaintext = args.security == "plain"
        self.use_ipv6 = False
        if args.ca:
            self.ca_certs = Path(args.ca)
        self.inbox: list[tuple[str, object]] = []
        self.changed = asyncio.Event()
        self.stages: list[str] = []
        self.failure: str | None = None
        self.closed = False
        self.xml = None
        if args.xml_dir:
            Path(args.xml_dir).mkdir(parents=True, exist_ok=True)
            self.xml = open(Path(args.xml_dir) / f"{name}.xml", "w", encoding="utf-8")

        for event in ("connected", "tls_success", "auth_success", "session_bind", "session_start"):
            self.add_event_handler(event, self._stage(event))
        for event in ("failed_all_auth", "no_auth", "ssl_invalid_chain", "ssl_invalid_cert"):
            self.add_event_handler(event, self._fatal(event))
        self.add_event_handler("failed_auth", lambda s: self._note_failure(f"SASL failure: {s}"))
        self.add_event_handler("connection_failed", lambda e: self._note_failure(f"connection failed: {e}"))
        self.add_event_handler("stream_error", lambda e: self._note_failure(f"stream error: {e['condition']} {e['text']}"))
        self.add_event_handler("disconnected", self._disconnected)
        self.add_event_handler("presence", lambda p: self._put("presence", p))
        self.add_event_handler("message", lambda m: self._put("message", m))
        self.add_event_handler("roster_update", lambda iq: self._put("roster", iq))

    # --- recording -------------------------------------------------------
    def _record(self, direction: str, data) -> None:
        if self.xml is None:
            return
        if isinstance(data, bytes):
            data = data.decode("utf-8", errors="replace")
        self.xml.write(f"{direction}: {data}\n")
        self.xml.flush()

    def send_raw(self, data) -> None:
        self._record("C", data)
        super().send_raw(data)

    def data_received(self, data) -> None:
        self._record("S", data)
        super().data_received(data)

    # --- events ----------------------------------------------------------
    def _stage(self, event: str):
        def handler(_data=None):
            self.stages.append(event)
            self.changed.set()

        return handler

    def _fatal(self, event: str):
        def handler(data=None):
            detail = f": {data}" if data else ""
            if event in ("failed_all_auth", "no_auth"):
                offered = sorted(self.plugin["feature_mechanisms"].mech_list)
                detail = f": none of {self.args.mechanisms} worked; the server offered {offered}"
            self._note_failure(f"{event}{detail}")

        return handler

    def _note_failure(self, text: str) -> None:
        if self.failure is None:
            self.failure = text
        self.changed.set()

    def _disconnected(self, reason=None) -> None:
        self.closed = True
        self.changed.set()

    def _put(self, kind: str, stanza) -> None:
        self.inbox.append((kind, stanza))
        self.changed.set()

    async def until(self, done, what: str, timeout: float | None = None):
        """Wait until `done()` returns something truthy; fail on a fatal
        event, on the stream closing, or after the timeout."""
        deadline = time.monotonic() + (timeout or self.step_timeout)
        while True:
            result = done()
            if result:
                return result
            if self.failure:
                raise StepFailed(f"{self.who}: {what}: {self.failure}")
            if self.closed:
                raise StepFailed(f"{self.who}: {what}: the stream closed ({self.disconnect_reason or 'no reason given'})")
            left = deadline - time.monotonic()
            if left <= 0:
                reached = f" (reached: {', '.join(self.stages)})" if self.stages else ""
                raise StepFailed(f"{self.who}: {what}: nothing within {timeout or self.step_timeout:g} s{reached}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def expect(self, kind: str, pred, what: str):
        """Take the first stanza of `kind` matching `pred` from the inbox."""

        def find():
            for i, (k, stanza) in enumerate(self.inbox):
                if k == kind and pred(stanza):
                    del self.inbox[i]
                    return (stanza,)
            return None

        return (await self.until(find, what))[0]

    # --- steps -----------------------------------------------------------
    async def login(self) -> None:
        a = self.args
        t = time.monotonic()
        self.connect(a.host, a.port)
        await self.until(lambda: "session_start" in self.stages,
                         f"login (connect, {'STARTTLS, ' if a.security == 'starttls' else ''}SASL, bind)")
        sock = self.transport.get_extra_info("ssl_object") if self.transport else None
        tls = f"{sock.version()} {sock.cipher()[0]}" if isinstance(sock, ssl.SSLObject) else "none"
        if a.security == "starttls" and ("starttls" not in self.features or tls == "none"):
            raise StepFailed(f"{self.who}: logged in without STARTTLS")
        if a.security == "plain" and tls != "none":
            raise StepFailed(f"{self.who}: TLS was negotiated although --security plain")
        mech = self.plugin["feature_mechanisms"].mech
        mech_name = mech.name if mech else "?"
        if mech_name not in a.mechanisms:
            raise StepFailed(f"{self.who}: authenticated with {mech_name}, not one of {a.mechanisms}")
        gs2 = getattr(mech, "gs2_header", b"").decode(errors="replace")
        say(self.who, f"logged in as {self.boundjid.full} in {time.monotonic() - t:.3f} s: "
                       f"TLS {tls}, SASL {mech_name} (gs2 header {gs2!r}), "
                       f"negotiated {sorted(self.features)}")

    async def fetch_roster(self, remove: JID | None) -> None:
        t = time.monotonic()
        result = await asyncio.wait_for(self.get_roster(timeout=self.step_timeout), self.step_timeout)
        items = result["roster"]["items"]
        ver = result["roster"].xml.get("ver")
        say(self.who, f"roster: {len(items)} item(s){f', ver {ver!r}' if ver is not None else ''} "
                       f"in {time.monotonic() - t:.3f} s")
        if remove is not None and JID(remove.bare) in items:
            say(self.who, f"removing the old item {remove.bare} (from an earlier run)")
            iq = self.Iq()
            iq["type"] = "set"
            iq["roster"]["items"] = {remove.bare: {"subscription": "remove"}}
            await asyncio.wait_for(iq.send(timeout=self.step_timeout), self.step_timeout)

    async def close(self) -> None:
        t = time.monotonic()
        await asyncio.wait_for(self.disconnect(wait=self.step_timeout), self.step_timeout + 1)
        if not self.closed:
            await self.until(lambda: self.closed, "close")
        if self.disconnect_reason != "End of stream":
            raise StepFailed(f"{self.who}: the server did not close its stream within "
                             f"{self.step_timeout:g} s of ours")
        say(self.who, f"closed; the server closed its stream too ({time.monotonic() - t:.3f} s)")
        if self.xml:
            self.xml.close()


def is_type(stanza, type_: str) -> bool:
    return stanza["type"] == type_


async def contact_local(bob: Session, alice_bare: str, body: str, reply: str) -> None:
    """The contact's side: approve alice's request, answer her message."""
    request = await bob.expect("presence", lambda p: is_type(p, "subscribe") and p["from"].bare == alice_bare,
                               f"subscription request from {alice_bare}")
    say(bob.who, f"subscription request from {request['from']}; approving")
    bob.send_presence(pto=alice_bare, ptype="subscribed")
    msg = await bob.expect("message", lambda m: is_type(m, "chat") and m["from"].bare == alice_bare,
                           f"chat message from {alice_bare}")
    if msg["body"] != body:
        raise StepFailed(f"{bob.who}: message body {msg['body']!r}, expected {body!r}")
    say(bob.who, f"chat from {msg['from']} (to {msg['to']}, id {msg['id']!r}): {msg['body']!r}; replying")
    bob.send_message(mto=msg["from"], mbody=reply, mtype="chat")


async def run_contact(args: argparse.Namespace) -> None:
    """--role contact: only the contact's side, as a process of its own (a
    stand-in for an external peer: --contact-mode external --peer-cmd)."""
    user = JID(args.jid)
    bob = Session(JID(args.contact).user or "contact", args.contact, args.contact_password, args)
    await bob.login()
    await bob.fetch_roster(remove=user)
    bob.send_presence()
    say(bob.who, "sent initial presence; contact ready")
    await contact_local(bob, user.bare, "Hello from slixmpp", "Hello back")
    await bob.close()


async def run(args: argparse.Namespace) -> None:
    if args.role == "contact":
        return await run_contact(args)
    user = JID(args.jid)
    contact = JID(args.contact)
    local = args.contact_mode == "local"
    body = "Hello from slixmpp"
    reply = "Hello back"

    bob = None
    contact_task = None
    if local:
        bob = Session(contact.user or "contact", args.contact, args.contact_password, args)
        await bob.login()
        await bob.fetch_roster(remove=user)
        bob.send_presence()
        say(bob.who, "sent initial presence")

    alice = Session(user.user or "user", args.jid, args.password, args)
    await alice.login()
    await alice.fetch_roster(remove=contact)
    alice.send_presence()
    say(alice.who, "sent initial presence")

    peer = None
    peer_output: list[str] = []
    if local:
        contact_task = asyncio.ensure_future(contact_local(bob, user.bare, body, reply))
    elif args.peer_cmd:
        say("peer", f"starting: {args.peer_cmd}")
        peer = await asyncio.create_subprocess_shell(
            args.peer_cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        ready = asyncio.Event()

        async def relay():
            while line := await peer.stdout.readline():
                text = line.decode(errors="replace").rstrip()
                peer_output.append(text)
                say("peer", f"| {text}")
                if args.peer_ready and args.peer_ready in text:
                    ready.set()

        relay_task = asyncio.ensure_future(relay())
        if args.peer_ready:
            try:
                await asyncio.wait_for(ready.wait(), args.step_timeout)
            except asyncio.TimeoutError:
                raise StepFailed(f"peer: no line with {args.peer_ready!r} within {args.step_timeout:g} s")

    async def user_side():
        t = time.monotonic()
        alice.send_presence(pto=contact.bare, ptype="subscribe")
        say(alice.who, f"sent subscribe to {contact.bare}")
        approved = await alice.expect("presence", lambda p: is_type(p, "subscribed") and p["from"].bare == contact.bare,
                                      f"'subscribed' from {contact.bare}")
        say(alice.who, f"'subscribed' from {approved['from']} ({time.monotonic() - t:.3f} s after subscribing)")

        def push_to(iq):
            if iq["type"] != "set":
                return False
            item = iq["roster"]["items"].get(JID(contact.bare))
            return item is not None and item["subscription"] in ("to", "both")

        push = await alice.expect("roster", push_to, f"roster push with subscription 'to' for {contact.bare}")
        item = push["roster"]["items"][JID(contact.bare)]
        say(alice.who, f"roster push: {contact.bare} subscription {item['subscription']!r}"
                        f"{', ask ' + repr(item['ask']) if item['ask'] else ''}")
        online = await alice.expect("presence", lambda p: p["type"] in ("available", "", None)
                                    and p["from"].bare == contact.bare and p["from"].resource,
                                    f"available presence from {contact.bare}")
        say(alice.who, f"presence from {online['from']}: available")
        alice.send_message(mto=contact.bare, mbody=body, mtype="chat", mfrom=None)
        say(alice.who, f"sent chat to {contact.bare}: {body!r}")
        answer = await alice.expect("message", lambda m: is_type(m, "chat") and m["from"].bare == contact.bare
                                    and m["body"], f"chat message from {contact.bare}")
        if local and answer["body"] != reply:
            raise StepFailed(f"{alice.who}: reply body {answer['body']!r}, expected {reply!r}")
        say(alice.who, f"chat from {answer['from']} (to {answer['to']}): {answer['body']!r}")

    tasks = [asyncio.ensure_future(user_side())]
    if contact_task:
        tasks.append(contact_task)
    try:
        # The first failure wins; the other side is cancelled.
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in pending:
            task.cancel()
        for task in done:
            task.result()
        if pending:
            raise StepFailed("a side stopped early")
    finally:
        if peer is not None:
            try:
                await asyncio.wait_for(peer.wait(), args.step_timeout)
                await relay_task
            except asyncio.TimeoutError:
                peer.kill()
                await peer.wait()
                raise StepFailed(f"peer: still running {args.step_timeout:g} s after the scenario; killed")
            if peer.returncode != 0:
                raise StepFailed(f"peer exited with status {peer.returncode}")
            say("peer", "exited 0")

    await alice.close()
    if bob is not None:
        await bob.close()


def main() -> int:
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default=env("XMPP_INTEROP_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, help="c2s port (default: XMPP_INTEROP_PORT, or "
                   "XMPP_INTEROP_PLAIN_PORT with --security plain)")
    p.add_argument("--security", choices=["starttls", "plain"], default="starttls")
    p.add_argument("--domain", help="default: XMPP_INTEROP_TLS_DOMAIN, or _PLAIN_DOMAIN with --security plain")
    p.add_argument("--ca", default=env("XMPP_INTEROP_CA"), help="CA certificate (PEM) to trust for STARTTLS")
    p.add_argument("--jid", help="the user (default alice@DOMAIN)")
    p.add_argument("--password", default="alice-secret")
    p.add_argument("--contact", help="the contact (default bob@DOMAIN)")
    p.add_argument("--contact-password", default="bob-secret")
    p.add_argument("--contact-mode", choices=["local", "external"], default="local",
                   help="local: the contact is a second slixmpp session here; external: a peer of its own "
                        "that must approve the subscription and send a chat message")
    p.add_argument("--peer-cmd", help="with --contact-mode external: a shell command started once the user is "
                   "online (it must exit 0)")
    p.add_argument("--peer-ready", help="with --peer-cmd: wait for a line of the peer's output containing this "
                   "text before subscribing")
    p.add_argument("--role", choices=["user", "contact"], default="user",
                   help="contact: play only the contact (approve, answer, close), e.g. as a --peer-cmd")
    p.add_argument("--mechanisms", default=",".join(SCRAM),
                   help="comma-separated SASL mechanisms slixmpp may choose from (it takes the strongest offered)")
    p.add_argument("--step-timeout", type=float, default=10.0)
    p.add_argument("--xml-dir", help="write each session's bytes to DIR/<name>.xml")
    p.add_argument("--debug-log", help="write slixmpp's debug log (SEND:/RECV: lines) to this file")
    args = p.parse_args()

    plain = args.security == "plain"
    if args.port is None:
        port = env("XMPP_INTEROP_PLAIN_PORT" if plain else "XMPP_INTEROP_PORT") or env("XMPP_INTEROP_PORT")
        if not port:
            p.error("no --port and no XMPP_INTEROP_PORT")
        args.port = int(port)
    if args.domain is None:
        args.domain = env("XMPP_INTEROP_PLAIN_DOMAIN" if plain else "XMPP_INTEROP_TLS_DOMAIN")
        if not args.domain:
            p.error("no --domain and no XMPP_INTEROP_*_DOMAIN")
    args.jid = args.jid or f"alice@{args.domain}"
    args.contact = args.contact or f"bob@{args.domain}"
    args.mechanisms = [m.strip() for m in args.mechanisms.split(",") if m.strip()]
    if not plain and not args.ca:
        p.error("--security starttls needs --ca (or XMPP_INTEROP_CA)")
    if args.peer_cmd and args.contact_mode != "external":
        p.error("--peer-cmd goes with --contact-mode external")
    if args.peer_ready and not args.peer_cmd:
        p.error("--peer-ready goes with --peer-cmd")

    logging.basicConfig(level=logging.CRITICAL)
    if args.debug_log:
        handler = logging.FileHandler(args.debug_log, mode="w", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(relativeCreated)8.0f %(name)s %(levelname)s %(message)s"))
        log = logging.getLogger("slixmpp")
        log.setLevel(logging.DEBUG)
        log.addHandler(handler)
        log.propagate = False

    print(f"slixmpp {slixmpp.__version__} on {platform.python_implementation()} {platform.python_version()} "
          f"({ssl.OPENSSL_VERSION}); {args.host}:{args.port}, {args.security}"
          f"{', CA ' + args.ca if args.ca and not plain else ''}; user {args.jid}, contact {args.contact} "
          f"({args.contact_mode}); mechanisms {args.mechanisms}", flush=True)
    if args.peer_cmd:
        print(f"peer command: {shlex.quote(args.peer_cmd)}", flush=True)
    try:
        asyncio.run(run(args))
    except StepFailed as e:
        say("FAIL", str(e))
        return 1
    except asyncio.TimeoutError:
        say("FAIL", f"a request got no answer within {args.step_timeout:g} s")
        return 1
    except slixmpp.exceptions.IqError as e:
        say("FAIL", f"an IQ failed: {e.iq['error']['condition']} {e.iq['error']['text']}")
        return 1
    except slixmpp.exceptions.IqTimeout:
        say("FAIL", f"an IQ got no answer within {args.step_timeout:g} s")
        return 1
    say("done", f"all steps passed in {time.monotonic() - T0:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
