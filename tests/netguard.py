"""A context manager that records and blocks every outbound connection, to prove code runs offline."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["no_network"]


@contextmanager
def no_network() -> Iterator[list]:
    """Block socket connections to anything but loopback / unix sockets; yield the list of attempts."""
    attempts: list = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def _allowed(address) -> bool:
        if isinstance(address, (str, bytes)):  # unix socket
            return True
        host = str(address[0])
        return host.startswith("127.") or host in ("localhost", "::1")

    def guarded(self, address):
        if not _allowed(address):
            attempts.append(address)
            raise OSError(f"network access blocked in tests: {address}")
        return real_connect(self, address)

    def guarded_ex(self, address):
        if not _allowed(address):
            attempts.append(address)
            return 111
        return real_connect_ex(self, address)

    socket.socket.connect = guarded
    socket.socket.connect_ex = guarded_ex
    try:
        yield attempts
    finally:
        socket.socket.connect = real_connect
        socket.socket.connect_ex = real_connect_ex
