"""A Ray cluster address checked before ``ray.init`` (:class:`~swapnas.executors.RayExecutor`).

``ray.init(address="HOST:PORT")`` with nothing listening there retries for minutes, printing Ray's own log
lines, and then exits the process (``sys.exit``) without an error the command could report. A plain TCP
connection to the address tells in a moment whether anything answers. Something that answers but is no Ray
cluster made it hang the same way (session 53: a web server, or Ray's dashboard port 8265 given for the cluster's):
an HTTP/1 request sent there gets an ``HTTP/…`` reply from a web server, and from Ray's GCS (gRPC, HTTP/2) its
binary SETTINGS frame (tried on Ray 2.x); only the former is refused, anything else is left to Ray. A server that
accepts the connection and sends nothing back (session 61's audit: a silent listener made ``swapnas grid`` print Ray's
"Failed to connect to GCS" for minutes, until killed at 280 s) is refused too: a GCS replies at once.
"""

from __future__ import annotations

import os
import socket


def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) address that nothing answers at within ``timeout``
    seconds; ``None`` (``$RAY_ADDRESS``, which ``ray.init`` reads then, is checked as the address: session 67),
    ``auto``, ``local`` and other forms are left to Ray."""
    given, leave = "--address", "leave --address out"
    if address is None and os.environ.get("RAY_ADDRESS", "").strip():
        address, given, leave = os.environ["RAY_ADDRESS"].strip(), "$RAY_ADDRESS", "unset RAY_ADDRESS"
    if address is None or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as conn:
            reply, silent = _first_reply(conn, timeout)
    except OSError as exc:
        raise ValueError(f"no Ray cluster answers at {given} {address} ({exc.strerror or exc}): start one "
                         f"there (`ray start --head`), give its address, or {leave} to start Ray "
                         "on this machine") from None
    if reply.startswith(b"HTTP/"):
        raise ValueError(f"a web server answers at {given} {address}, not a Ray cluster (Ray's dashboard is on port "
                         "8265; the cluster's address is its GCS port, 6379 unless `ray start --head --port` set "
                         f"another, as `ray start` prints it); give that address, or {leave} to start Ray "
                         "on this machine")
    if silent:
        raise ValueError(f"something at {given} {address} accepts connections but sent nothing back in {timeout:g} "
                         "s, and a Ray cluster's GCS answers at once: it is no Ray cluster (or one that hangs); give "
                         f"the address `ray start --head` printed, or {leave} to start Ray on this machine")


def _first_reply(conn: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """The first bytes the server at ``conn`` sends back to an HTTP/1 request, and whether it sent none within
    ``timeout`` seconds (silent; a reset or a close with nothing sent is not silence: left to Ray)."""
    reply = b""
    try:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        conn.settimeout(timeout)  # a GCS replies at once
        while len(reply) < 5 and (part := conn.recv(16)):  # a reply may come in pieces
            reply += part
    except TimeoutError:
        return reply, not reply
    except OSError:  # a reset: what came so far is told apart, or nothing (left to Ray)
        pass
    return reply, False
