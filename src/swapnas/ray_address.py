"""A Ray cluster address checked before ``ray.init`` (:class:`~swapnas.executors.RayExecutor`).

``ray.init(address="HOST:PORT")`` with nothing listening there retries for minutes, printing Ray's own log
lines, and then exits the process (``sys.exit``) without an error the command could report. A plain TCP
connection to the address tells in a moment whether anything answers.
"""

from __future__ import annotations

import socket


def check_ray_address(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) address that nothing answers at within ``timeout``
    seconds; ``None``, ``auto``, ``local`` and other forms are left to Ray."""
    if address is None or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ValueError(f"no Ray cluster answers at --address {address} ({exc.strerror or exc}): start one "
                         "there (`ray start --head`), give its address, or leave --address out to start Ray "
                         "on this machine") from None
