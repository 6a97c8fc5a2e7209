"""The ASGI application that `askonce serve` runs.

HTTP requests run Django's synchronous handler on a pool of long-lived threads (a2wsgi). Django's
own ASGI handler runs each request's synchronous code in a new thread, which opens a new database
connection per request; on a 2-core machine that more than doubled the CPU cost of an API call
(measured in bench/README.md). Long-lived threads keep their connections, as WSGI servers do.
Other scope types (WebSockets, when chat arrives) are routed to their own applications here.
"""

import os
from typing import Any

from a2wsgi import WSGIMiddleware

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askonce.config.settings")

from django.core.wsgi import get_wsgi_application

HTTP_THREADS = int(os.environ.get("ASKONCE_HTTP_THREADS", "8"))

_http = WSGIMiddleware(get_wsgi_application(), workers=HTTP_THREADS)  # type: ignore[arg-type]


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await _http(scope, receive, send)  # type: ignore[arg-type]
    elif scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    else:
        raise ValueError(f"AskOnce does not serve {scope['type']!r} connections yet.")
