"""The frames between the SMTP front and the storing process (see smtp_front.py).

A module of its own so that the storing process reads them without importing the front's
server code, and the front without importing Django.
"""

import struct

FRAME = struct.Struct("<QI")  # request or answer id, then the size of the pickled body
READY = 0  # the id of the front's first answer: None once it listens, or why it cannot
