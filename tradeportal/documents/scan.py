"""Optional virus scan through clamd's INSTREAM command on a unix socket (TRADEPORTAL_CLAMD_SOCKET).

Fails closed: when clamd does not answer, the file is refused ("could not be
checked") rather than accepted unchecked.
"""
from __future__ import annotations

import socket
import struct
from typing import BinaryIO

CHUNK = 64 * 1024
TIMEOUT = 30.0


class ScanUnavailable(Exception):
    pass


def scan(socket_path: str, stream: BinaryIO) -> str | None:
    """None when clean, else the name of what clamd found; ScanUnavailable when it cannot say."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(socket_path)
            sock.sendall(b"zINSTREAM\0")
            stream.seek(0)
            while block := stream.read(CHUNK):
                sock.sendall(struct.pack("!L", len(block)) + block)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
                if len(reply) > 4096:
                    break
    except OSError as error:
        raise ScanUnavailable(str(error)) from error
    finally:
        stream.seek(0)
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if answer.endswith("OK"):
        return None
    if answer.endswith("FOUND"):
        return answer.split(":", 1)[-1].removesuffix("FOUND").strip() or "unknown"
    raise ScanUnavailable(answer or "no answer")
