#!/usr/bin/env python3
"""
Felix WebSocket client example: run a workflow and follow it live over the raw WebSocket endpoint.

The counterpart of the original Felix server's ``websocket_client_example.py``: the same flow and the same
output, written against the documented protocol (docs/compatibility.md) with only ``websockets`` and ``httpx``.

    1. POST /api/v1/system/start            (goes on on 200 or 409)
    2. POST /api/v1/workflows               (goes on only on 202, reads workflow_id)
    3. WS   /api/v1/ws/workflows/{id}?api_key=KEY
       prints the events until workflow_complete or workflow_error, answers {"type":"ping"} with the text
       "pong", sends its own text "ping" when idle (the server answers "pong", which it skips), and after a dropped connection reconnects with last_event_id=<the last
       event_id it saw>, so nothing is missed and nothing is printed twice; after a 1013 close (the server's storage is
       unavailable) it waits the seconds the close reason names before reconnecting, and after a handshake refused with
       HTTP 503 (a server draining for a restart) or 429 (too many connections) the seconds of its Retry-After header.

Exit codes: 0 workflow completed, 1 workflow failed or cancelled, 2 could not reach or use the server, 130 interrupted.
"""

import argparse
import asyncio
import email.utils
import json
import os
import random
import re
import sys
import time
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import websockets
import websockets.exceptions

EXAMPLE_TASKS = [
    "Explain quantum computing in simple terms",
    "Analyze the benefits and risks of renewable energy",
    "Compare microservices and monolithic architectures",
    "Describe how vaccines train the immune system",
]

EXIT_COMPLETED = 0
EXIT_FAILED = 1
EXIT_UNAVAILABLE = 2
EXIT_INTERRUPTED = 130

MAX_RECONNECTS = 5
MAX_ASKED_WAIT = 120
RETRY_AFTER = re.compile(r"retry after (\d+) seconds?", re.IGNORECASE)
# Handshake refusals that mean "come back later", not "go away": a server draining for a restart (503) and a limit on
# connections (429). Both send Retry-After; without one, the server's own default.
RETRYABLE_REFUSALS = (429, 503)
DEFAULT_RETRY_AFTER = 5
# websockets < 14 raises InvalidStatusCode for a refused handshake, later versions InvalidStatus.
REFUSED_HANDSHAKE = tuple(getattr(websockets.exceptions, name) for name in ("InvalidStatus", "InvalidStatusCode")
                          if hasattr(websockets.exceptions, name))
PREVIEW_CHARS = 200


class ServerError(Exception):
    """The server refused or could not be reached; the message says why."""


class FelixWebSocketClient:
    def __init__(self, base_url, api_key=None, show_full_output=False, drop_after=None, ping_interval=20.0, verbose=False):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.show_full_output = show_full_output
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # Position in the stream: the last event_id seen, and its epoch/sequence to skip anything seen twice.
        self.last_event_id = None
        self.last_epoch = None
        self.last_sequence = 0
        self.agents_spawned = 0
        # The last status printed: the connect snapshot states the status where the replayed history starts, so the first
        # replayed status (the creation's pending) or the snapshot after a reconnect may say it again.
        self.status = None
        # Keepalive in both directions: the client pings when idle, and answers the server's JSON ping.
        self.ping_interval = ping_interval
        self.verbose = verbose
        self.pings_sent = 0
        self.pongs_received = 0
        self.server_pings_answered = 0
        # Test hook: close the socket abruptly after this many events, once, to exercise the resume path.
        self.drop_after = drop_after
        self.events_seen = 0

    # ------------------------------------------------------------------ REST

    async def start_system(self, http):
        response = await http.post("/api/v1/system/start")
        if response.status_code in (200, 409):
            print("Felix system is running")
            return
        raise ServerError(f"Could not start the Felix system: HTTP {response.status_code} {response.text[:200]}")

    async def create_workflow(self, http, task, max_steps):
        body = {"task": task}
        if max_steps is not None:
            body["max_steps"] = max_steps
        response = await http.post("/api/v1/workflows", json=body)
        if response.status_code != 202:
            raise ServerError(f"Could not create the workflow: HTTP {response.status_code} {response.text[:200]}")
        workflow_id = response.json()["workflow_id"]
        print(f"Workflow created: {workflow_id}")
        return workflow_id

    # ------------------------------------------------------------- WebSocket

    def stream_url(self, workflow_id):
        scheme, netloc, path, _, _ = urlsplit(self.base_url)
        ws_scheme = "wss" if scheme == "https" else "ws"
        query = []
        if self.api_key:
            query.append("api_key=" + quote(self.api_key, safe=""))
        if self.last_event_id:
            query.append("last_event_id=" + quote(self.last_event_id, safe=""))
        return urlunsplit((ws_scheme, netloc, f"{path}/api/v1/ws/workflows/{workflow_id}", "&".join(query), ""))

    async def stream_workflow(self, workflow_id):
        """Follows the workflow to its end. Returns the terminal event."""
        reconnects = 0
        waited_as_asked = 0
        while True:
            url = self.stream_url(workflow_id)
            resumed_from = self.last_event_id
            what = None
            if resumed_from:
                print(f"Reconnecting, resuming after event {resumed_from}")
            try:
                async with websockets.connect(url, open_timeout=10, close_timeout=5, max_size=None) as ws:
                    keepalive = asyncio.ensure_future(self.keep_alive(ws))
                    try:
                        terminal = await self.read_events(ws)
                    finally:
                        keepalive.cancel()
                    if terminal is not None:
                        await self.drain_until_close(ws)
                        return terminal
                    code, reason = ws.close_code, ws.close_reason
            except REFUSED_HANDSHAKE as error:
                status, headers = refused_status(error)
                if status not in RETRYABLE_REFUSALS:
                    raise ServerError(f"WebSocket refused: HTTP {status}") from error
                what, asked = f"HTTP {status}", retry_after_header(headers)
                print(f"Connection refused ({what}).")
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as error:
                code, reason = None, str(error) or type(error).__name__
            if what is None:
                if code == 1008:
                    # Policy violation: bad key or unknown workflow; retrying cannot help.
                    raise ServerError(f"WebSocket closed by the server: {reason}")
                what, asked = f"{code if code is not None else 'no close frame'} {reason}".rstrip(), retry_after(code, reason)
                print(f"Connection lost ({what}).")

            if self.last_event_id != resumed_from:
                # The connection moved the stream on: the budgets below are for a server that does not come back, not
                # for a long run that meets several restarts.
                reconnects, waited_as_asked = 0, 0
            if asked is not None:
                # The server is up but cannot serve the stream yet (1013: its storage is unavailable; 503: it is draining
                # for a restart; 429: too many connections) and says when to come back: waiting that long is not a
                # failure, so it does not spend the reconnect budget, only its own.
                waited_as_asked += asked
                if waited_as_asked > MAX_ASKED_WAIT:
                    raise ServerError(f"Connection refused ({what}); gave up after waiting {MAX_ASKED_WAIT} s as asked")
                print(f"Retrying in {asked} s, as the server asked.")
                await asyncio.sleep(asked + random.uniform(0, 1))
                continue
            reconnects += 1
            if reconnects > MAX_RECONNECTS:
                raise ServerError(f"Connection lost ({what}); gave up after {MAX_RECONNECTS} reconnects")
            await asyncio.sleep(min(0.2 * 2 ** (reconnects - 1), 5))

    async def read_events(self, ws):
        """Reads until the terminal event (returned) or the end of the connection (None)."""
        try:
            while True:
                message = await ws.recv()
                if message == "pong":
                    self.pongs_received += 1
                    continue
                event = json.loads(message)
                if not self.is_new(event):
                    continue
                event_type = event.get("type")
                if event_type == "ping":
                    await ws.send("pong")
                    self.server_pings_answered += 1
                    continue
                self.print_event(event)
                if event_type in ("workflow_complete", "workflow_error") or is_cancelled(event):
                    return event
                self.events_seen += 1
                if self.drop_after is not None and self.events_seen >= self.drop_after:
                    self.drop_after = None
                    print("(simulating a dropped connection)")
                    ws.transport.abort()
                    await ws.wait_closed()
                    return None
        except websockets.exceptions.ConnectionClosed:
            return None

    async def drain_until_close(self, ws):
        """After the terminal event the server closes the stream; pongs it sent before closing are still counted."""
        try:
            await asyncio.wait_for(self.count_pongs(ws), timeout=5)
        except (asyncio.TimeoutError, websockets.exceptions.ConnectionClosed):
            pass

    async def count_pongs(self, ws):
        async for message in ws:
            if message == "pong":
                self.pongs_received += 1

    async def keep_alive(self, ws):
        """Sends the text "ping" every ping_interval seconds; the server answers with the text "pong"."""
        try:
            while True:
                await asyncio.sleep(self.ping_interval)
                await ws.send("ping")
                self.pings_sent += 1
        except websockets.exceptions.ConnectionClosed:
            pass

    def print_keepalive_summary(self):
        if self.verbose:
            print(f"Keepalive: {self.pings_sent} pings sent, {self.pongs_received} pongs received, "
                  f"{self.server_pings_answered} server pings answered")

    def is_new(self, event):
        """Remembers the stream position; False for an event already seen before a reconnect."""
        event_id, sequence, epoch = event.get("event_id"), event.get("sequence"), event.get("epoch")
        if event_id is None or not isinstance(sequence, int):
            return True  # frames that are not stream events (connected, the status snapshot, ping)
        if epoch == self.last_epoch and sequence <= self.last_sequence:
            return False
        self.last_event_id, self.last_epoch, self.last_sequence = event_id, epoch, sequence
        return True

    # -------------------------------------------------------------- printing

    def print_event(self, event):
        event_type = event.get("type")
        if event_type == "connected":
            print(f"Connected: {event.get('message', '')}")
        elif is_cancelled(event) and event.get("event_id"):
            print("Workflow cancelled")
        elif event_type == "workflow_status":
            if event.get("status") != self.status:
                self.status = event.get("status")
                print(f"Workflow status: {self.status}")
        elif event_type == "agent_spawned":
            self.agents_spawned += 1
            print(f"Agent spawned: {event.get('agent_id')} ({event.get('agent_type')}) "
                  f"at helix position {event.get('spawn_time', 0):.2f}")
        elif event_type == "agent_output":
            print(f"Output from agent {event.get('agent_id')} (confidence: {percent(event.get('confidence'))})")
            print(indent(self.preview(event.get("content", ""))))
        elif event_type == "synthesis_started":
            print(f"Synthesis started with {event.get('agent_count')} agents")
        elif event_type == "workflow_complete":
            synthesis = event.get("synthesis") or {}
            print("Workflow complete")
            print(f"Synthesis (confidence: {percent(synthesis.get('confidence'))}, "
                  f"agents synthesized: {synthesis.get('agents_synthesized')}):")
            print(indent(synthesis.get("content", "")))
        elif event_type == "workflow_error":
            print(f"Workflow error: {event.get('error')}")
        else:
            # Only reached when asking for more than the documented types (types=...): show it briefly.
            print(f"Event: {event_type}")

    def preview(self, text):
        if self.show_full_output or len(text) <= PREVIEW_CHARS:
            return text
        return text[:PREVIEW_CHARS].rstrip() + "..."


def is_cancelled(event):
    """A cancelled run ends with a workflow_status event "cancelled" (the connect snapshot has no event_id)."""
    return event.get("type") == "workflow_status" and event.get("status") == "cancelled" and "event_id" in event


def retry_after(code, reason):
    """The seconds a 1013 close (try again later) asks the client to wait, as its reason states them; else None."""
    match = RETRY_AFTER.search(reason or "") if code == 1013 else None
    return int(match.group(1)) if match else None


def refused_status(error):
    """The status code and headers of a refused handshake, from either generation of websockets' exception."""
    response = getattr(error, "response", None)
    if response is not None:
        return response.status_code, response.headers
    return error.status_code, error.headers


def retry_after_header(headers):
    """The seconds a Retry-After header asks for (delay-seconds or an HTTP date); the server's default without one."""
    value = (headers.get("Retry-After") or "").strip() if headers is not None else ""
    if value.isdigit():
        return int(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return DEFAULT_RETRY_AFTER
    return max(0, round(when.timestamp() - time.time()))


def percent(value):
    return f"{round(float(value) * 100)}%" if isinstance(value, (int, float)) else "n/a"


def indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def choose_task(args):
    if args.task:
        return args.task
    if args.non_interactive or not sys.stdin.isatty():
        return EXAMPLE_TASKS[0]
    print("Example tasks:")
    for number, task in enumerate(EXAMPLE_TASKS, start=1):
        print(f"  {number}. {task}")
    answer = input(f"Pick a number, or type a task [1]: ").strip()
    if not answer:
        return EXAMPLE_TASKS[0]
    if answer.isdigit() and 1 <= int(answer) <= len(EXAMPLE_TASKS):
        return EXAMPLE_TASKS[int(answer) - 1]
    return answer


async def run(args):
    client = FelixWebSocketClient(args.url, args.api_key, args.full_output, args.simulate_drop_after,
                                  args.ping_interval, args.verbose)
    task = choose_task(args)
    try:
        async with httpx.AsyncClient(base_url=client.base_url, headers=client.headers, timeout=30) as http:
            await client.start_system(http)
            workflow_id = await client.create_workflow(http, task, args.max_steps)
        print(f"Task: {task}")
        terminal = await client.stream_workflow(workflow_id)
        client.print_keepalive_summary()
    except httpx.HTTPError as error:
        print(f"Error: cannot reach the Felix server at {client.base_url}: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ServerError as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return EXIT_COMPLETED if terminal.get("type") == "workflow_complete" else EXIT_FAILED


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Run a Felix workflow and stream its events over the raw WebSocket endpoint.")
    parser.add_argument("--url", default=os.environ.get("FELIX_URL", "http://localhost:8000"),
                        help="server base URL (default: $FELIX_URL or http://localhost:8000)")
    parser.add_argument("--api-key", default=os.environ.get("FELIX_API_KEY"),
                        help="API key (default: $FELIX_API_KEY; none for a server in development mode)")
    parser.add_argument("--task", help="the task to run (default: pick from examples)")
    parser.add_argument("--max-steps", type=int, help="maximum number of agents (1-50)")
    parser.add_argument("--non-interactive", action="store_true",
                        help="never prompt: use --task or the first example task")
    parser.add_argument("--full-output", action="store_true", help="print whole agent outputs, not a preview")
    parser.add_argument("--ping-interval", type=float, default=20.0, metavar="SECONDS",
                        help="send a keepalive ping after this many seconds (default 20)")
    parser.add_argument("--verbose", action="store_true", help="also report keepalive pings and pongs")
    parser.add_argument("--simulate-drop-after", type=int, metavar="N",
                        help="testing: drop the connection once after N events to show the resume")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except KeyboardInterrupt:
        print("\nInterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Whoever read the output went away (piped into head, a pager closed): stop quietly, as command-line tools do.
        # Python would print a traceback, and another complaint when it flushed stdout on the way out.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
