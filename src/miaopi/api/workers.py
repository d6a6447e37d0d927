"""Several worker processes behind one port, each with a listening socket of its own.

uvicorn's workers share one listening socket, and each accepts every connection waiting when it
wakes: keep-alive connections opened together (a reverse proxy's pool, a load generator) land
unevenly — 84 of 128 on one worker and 44 on the other, 26 of 32 on one in our measurements — and
stay there, so one core queues requests while the other idles. Here each worker listens on a socket
of its own with ``SO_REUSEPORT``, and the kernel spreads new connections across them by a hash of
each connection's addresses.

The supervisor (uvicorn's: health checks, restarts, signals) binds the port too, without listening:
that reserves it and tells at once when another program holds it. A socket bound but not listening
is not given connections.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

# uvicorn's exit status for a worker that could not start; its supervisor then stops rather than
# restarting the worker again and again
STARTUP_FAILURE = 3


class PortInUse(OSError):
    """The port cannot be bound: another program listens on it, or the address is not this
    machine's; ``strerror`` says which, in Chinese."""


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not yet listening)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortInUse(error.errno, f"无法监听 {host}:{port}：{error.strerror}") from None
    return sock


class WorkerListener(socket.socket):
    """The supervisor's reservation of the port; what each worker process receives in its place
    (uvicorn sends the sockets it is given to every worker) is a new socket of its own on the same
    address, bound there."""

    def __reduce__(self) -> tuple[Any, ...]:
        host, port = self.getsockname()[:2]
        return (_bind_in_worker, (host, port))


def _bind_in_worker(host: str, port: int) -> socket.socket:
    try:
        sock = reuse_port_socket(host, port)
    except PortInUse as error:
        print(error.strerror, file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    sock.set_inheritable(True)
    return sock


def serve_workers(app: str, host: str, port: int, workers: int, **options: Any) -> None:
    """Run the ASGI app factory ``app`` in ``workers`` processes, each listening on ``host:port``
    itself. PortInUse when the port is taken."""
    if not hasattr(socket, "SO_REUSEPORT"):  # not on Windows: one socket the workers share
        uvicorn.run(app, host=host, port=port, workers=workers, factory=True, **options)
        return
    reserved = reuse_port_socket(host, port)
    listener = WorkerListener(reserved.family, reserved.type, reserved.proto, fileno=reserved.detach())
    config = uvicorn.Config(app, host=host, port=port, workers=workers, factory=True, **options)
    try:
        Multiprocess(config, sockets=[listener]).run()
    except KeyboardInterrupt:
        pass
    finally:
        listener.close()
