"""Django settings for AskOnce, read from the environment.

Every knob is an environment variable: DATABASE_URL for the database, ASKONCE_* for the rest.
The README's "Configuration" table lists them with their defaults.
"""

import os
import secrets
from pathlib import Path

import dj_database_url


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise RuntimeError(f"{name} must be a whole number, got {raw!r}") from error


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


PACKAGE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ASKONCE_DATA_DIR", str(Path.cwd() / "var"))).resolve()


def _secret_key() -> str:
    """The secret key from the environment, else one generated once and kept in DATA_DIR."""
    configured = os.environ.get("ASKONCE_SECRET_KEY")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    try:
        return key_file.read_text().strip()
    except FileNotFoundError:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        key_file.write_text(key)
        key_file.chmod(0o600)
        return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("ASKONCE_DEBUG", False)
ALLOWED_HOSTS = env_list("ASKONCE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("ASKONCE_CSRF_TRUSTED_ORIGINS", "")
BASE_URL = env_str("ASKONCE_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "askonce.core",
    "askonce.accounts",
    "askonce.teams",
    "askonce.search",
    "askonce.notify",
    "askonce.tickets",
    "askonce.kb",
    "askonce.questions",
    "askonce.mail",
    "askonce.oncall",
    "askonce.console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "askonce.console.middleware.UserTimeZoneMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "askonce.config.urls"
ASGI_APPLICATION = "askonce.config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "askonce.console.context.navigation",
            ],
        },
    }
]

# Database: SQLite under ./var by default; PostgreSQL (or another SQLite file) from DATABASE_URL.
DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'askonce.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL", DEFAULT_DATABASE_URL)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # Production SQLite: WAL lets readers run beside the one writer, IMMEDIATE transactions take
    # the write lock up front (no deadlock on upgrade), and a long busy timeout waits for it.
    # Our backend queues those transactions on a file lock first, so a waiter starts the moment
    # the lock is free instead of sleeping in SQLite's busy handler (config/sqlite/base.py).
    DATABASES["default"]["ENGINE"] = "askonce.config.sqlite"
    # Tests: an in-memory database, as for Django's own engine (said explicitly, because
    # pytest-django only knows that engine by name).
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
    DATABASES["default"]["CONN_MAX_AGE"] = None
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
            "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000;"
        ),
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("ASKONCE_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Outgoing mail goes through an SMTP relay once ASKONCE_RELAY_HOST names one. Without one (a
# first run on a laptop), mail is written to files in DATA_DIR/outbox so nothing is lost or hidden.
if os.environ.get("ASKONCE_RELAY_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("ASKONCE_RELAY_HOST", "127.0.0.1"),
                "port": env_int("ASKONCE_RELAY_PORT", 25),
                "username": env_str("ASKONCE_RELAY_USER", ""),
                "password": env_str("ASKONCE_RELAY_PASSWORD", ""),
                "use_tls": env_bool("ASKONCE_RELAY_STARTTLS", False),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(DATA_DIR / "outbox")},
        }
    }

# The addresses AskOnce receives mail for. Teams answer on `<slug>@MAIL_DOMAIN` unless the team
# has its own address.
MAIL_DOMAIN = env_str("ASKONCE_MAIL_DOMAIN", "example.com").lower()
SUPPORT_ADDRESS = env_str("ASKONCE_SUPPORT_ADDRESS", f"support@{MAIL_DOMAIN}").lower()
EMERGENCY_ADDRESS = env_str("ASKONCE_EMERGENCY_ADDRESS", f"emergency@{MAIL_DOMAIN}").lower()
# Built-in SMTP intake (`askonce smtpd`, and inside `askonce serve`); port 0 turns it off.
SMTP_BIND = env_str("ASKONCE_SMTP_BIND", "127.0.0.1")
SMTP_PORT = env_int("ASKONCE_SMTP_PORT", 2525)
SMTP_MAX_BYTES = env_int("ASKONCE_SMTP_MAX_BYTES", 25 * 1024 * 1024)
# PostgreSQL only: threads that store batches of incoming mail at once. 0: the thread that reads
# the SMTP front's requests stores them itself, as on SQLite (one writer); that was fastest on
# two cores, where writer threads only share one interpreter lock (bench/README.md).
SMTP_DB_WRITERS = max(0, env_int("ASKONCE_SMTP_DB_WRITERS", 0))
SMTP_TLS_CERT = env_str("ASKONCE_SMTP_TLS_CERT", "")
SMTP_TLS_KEY = env_str("ASKONCE_SMTP_TLS_KEY", "")
# "user:password,user2:password2": relays that must authenticate before sending to us.
SMTP_AUTH_USERS = env_str("ASKONCE_SMTP_AUTH_USERS", "")
# IMAP mailboxes to poll: imaps://user:password@host:993/INBOX?to=support@example.com&move=Done
IMAP_MAILBOXES = env_list("ASKONCE_IMAP_MAILBOXES", "")
IMAP_POLL_SECONDS = env_int("ASKONCE_IMAP_POLL_SECONDS", 60)
# Acknowledgements of new tickets by mail, at most this many per sender and hour.
ACKNOWLEDGEMENTS_PER_HOUR = env_int("ASKONCE_ACKNOWLEDGEMENTS_PER_HOUR", 5)
MEDIA_ROOT = DATA_DIR / "attachments"
MEDIA_URL = "/attachments/"

DEFAULT_FROM_EMAIL = env_str("ASKONCE_FROM_EMAIL", f"Support <{SUPPORT_ADDRESS}>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Background work: Django's tasks framework with a database-backed queue. `askonce serve`
# runs a worker beside the web server; `askonce worker` runs more of them.
TASKS = {
    "default": {
        "BACKEND": env_str("ASKONCE_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
WORKER_INTERVAL_SECONDS = float(env_str("ASKONCE_WORKER_INTERVAL", "1"))
SWEEP_INTERVAL_SECONDS = env_int("ASKONCE_SWEEP_INTERVAL", 30)
AUTO_CLOSE_DAYS = env_int("ASKONCE_AUTO_CLOSE_DAYS", 7)

# Ticket bodies are text; a cap keeps one request from filling the database.
MAX_MESSAGE_CHARS = env_int("ASKONCE_MAX_MESSAGE_CHARS", 100_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, MAX_MESSAGE_CHARS * 4 + 65_536)

# Where "documentation needed" goes when the agent names no category (a category slug; empty:
# the first category that has an owner, else the support team).
KB_DEFAULT_CATEGORY = env_str("ASKONCE_KB_DEFAULT_CATEGORY", "")

# Two questions whose embeddings have at least this cosine are the same question asked twice
# (calibrated with `askonce eval`; see docs/questions.md).
QUESTION_REPEAT_THRESHOLD = float(env_str("ASKONCE_QUESTION_REPEAT_THRESHOLD", "0.50"))
# Sentence embeddings (~120 MiB per process for the model, 154 MB per 100,000 questions):
# off runs full-text only, for small machines (docs/questions.md, "Embeddings without torch").
EMBEDDINGS = env_bool("ASKONCE_EMBEDDINGS", True)
# Two published articles whose embeddings (title and opening text) have at least this cosine
# say the same thing: an overlap for their owners. Distinct demo articles on neighbouring
# topics reach 0.67; a rewrite of one article's answer in other words reaches 0.8.
OVERLAP_THRESHOLD = float(env_str("ASKONCE_OVERLAP_THRESHOLD", "0.78"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ASKONCE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django_tasks_db": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "django.tasks": {"level": "WARNING"},
    },
}
