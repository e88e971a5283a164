"""Free TCP ports for the processes `hitlbot dev`, the stand-ins and the tests start."""

from __future__ import annotations

import socket

_given: set[int] = set()
"""Every port `free_port` handed out in this process."""


def free_port() -> int:
    """A TCP port nobody listens on right now, and not one this process was given before.

    Two ports asked for before either is bound (the web server's and its mail catcher's, in
    `hitlbot dev` and the playground tests) must differ, and the kernel may well hand the same
    unbound port out twice in a row.
    """
    for _ in range(1000):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _given:
            break
    _given.add(port)
    return port
