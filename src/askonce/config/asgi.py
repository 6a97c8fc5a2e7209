"""The ASGI application that `askonce serve` runs."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "askonce.config.settings")
application = get_asgi_application()
