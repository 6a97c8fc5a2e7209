"""The ASGI application that `askonce serve` runs.

HTTP requests run Django's synchronous handler on a pool of long-lived threads (see bridge.py
for why not Django's own ASGI handler). Other scope types (WebSockets, when chat arrives) are
routed to their own applications here.
"""

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askonce.config.settings")

from django.core.wsgi import get_wsgi_application

from askonce.config.bridge import SyncDjangoApp

HTTP_THREADS = int(os.environ.get("ASKONCE_HTTP_THREADS", "8"))

_http = SyncDjangoApp(get_wsgi_application(), threads=HTTP_THREADS)  # type: ignore[arg-type]


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                _http.close_connections()
                await send({"type": "lifespan.shutdown.complete"})
                return
    else:
        raise ValueError(f"AskOnce does not serve {scope['type']!r} connections yet.")
