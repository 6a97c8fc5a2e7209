"""The frames between the SMTP front and the storing process (see smtp_front.py).

A module of its own so that the storing process reads them without importing the front's
server code, and the front without importing Django. The pipe is private to the two
processes, so the pickles come from our own code.
"""

import pickle
import struct
from typing import Any

FRAME = struct.Struct("<QI")  # request or answer id, then the size of the pickled body
READY = 0  # the id of the front's first answer: None once it listens, or why it cannot


def frame(ident: int, body: Any) -> bytes:
    data = pickle.dumps(body, pickle.HIGHEST_PROTOCOL)
    return FRAME.pack(ident, len(data)) + data


def take_frames(buffer: bytearray) -> list[tuple[int, Any]]:
    """The complete frames at the start of `buffer`, removed from it (a partial one stays)."""
    frames = []
    while len(buffer) >= FRAME.size:
        ident, size = FRAME.unpack_from(buffer)
        end = FRAME.size + size
        if len(buffer) < end:
            break
        frames.append((ident, pickle.loads(buffer[FRAME.size : end])))  # noqa: S301
        del buffer[:end]
    return frames
