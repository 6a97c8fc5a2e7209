"""A throwaway AskOnce instance for one measurement: own data directory and database, demo data.

SQLite lives in a temporary ASKONCE_DATA_DIR; PostgreSQL gets a database of its own on the
server named by ASKONCE_BENCH_PG_URL, dropped and created with psql, dropped again afterwards.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

# run.py is started with the project's venv python; the askonce command sits beside it.
PYTHON = sys.executable
ASKONCE = str(Path(sys.executable).with_name("askonce"))
PG_URL = os.environ.get("ASKONCE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# Where the askonce package is imported from: the checkout the venv points at, or a snapshot
# of one commit (run.py --commit), put first on PYTHONPATH so it wins over the editable install.
SOURCE = {"pythonpath": ""}


def snapshot_commit(revision: str, repository: Path) -> tuple[str, Path]:
    """Export `revision`'s src/ into a temporary folder; returns (full commit id, folder)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{revision}^{{commit}}"],
        cwd=repository,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    folder = Path(tempfile.mkdtemp(prefix=f"askonce-bench-src-{commit[:8]}-"))
    archive = subprocess.run(
        ["git", "archive", commit, "src"], cwd=repository, check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    SOURCE["pythonpath"] = str(folder / "src")
    return commit, folder


def _psql_args() -> list[str]:
    url = urlsplit(PG_URL)
    return [
        "psql",
        "-h",
        url.hostname or "127.0.0.1",
        "-p",
        str(url.port or 5432),
        "-U",
        url.username or "postgres",
        "-d",
        url.path.lstrip("/") or "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-qAt",
    ]


def psql(*statements: str) -> str:
    command = _psql_args()
    for statement in statements:
        command += ["-c", statement]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def postgres_settings() -> dict[str, str]:
    """What the shared PostgreSQL server runs with; its figures depend on these."""
    names = ("server_version", "shared_buffers", "synchronous_commit", "fsync", "work_mem")
    values = psql(*(f"SHOW {name}" for name in names)).splitlines()
    return dict(zip(names, values, strict=True))


class Instance:
    def __init__(self, *, database: str, name: str) -> None:
        if database not in ("sqlite", "pg"):
            raise ValueError(f"database must be sqlite or pg, not {database!r}")
        self.database = database
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"askonce-bench-{name}-"))
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key != "DATABASE_URL" and not key.startswith("ASKONCE_")
        }
        self.env.update(
            ASKONCE_DATA_DIR=str(self.data_dir),
            ASKONCE_LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="askonce.config.settings",
        )
        self.env.pop("PYTHONPATH", None)
        if SOURCE["pythonpath"]:
            self.env["PYTHONPATH"] = SOURCE["pythonpath"]
        self.pg_database = ""
        if database == "pg":
            self.pg_database = f"askonce_bench_{name}"
            url = urlsplit(PG_URL)
            self.env["DATABASE_URL"] = url._replace(path=f"/{self.pg_database}").geturl()

    def create(self) -> "Instance":
        try:
            if self.pg_database:
                psql(
                    f"DROP DATABASE IF EXISTS {self.pg_database} WITH (FORCE)",
                    f"CREATE DATABASE {self.pg_database}",
                )
            self.run_askonce("migrate", "--no-input", "-v", "0")
            self.run_askonce("demo")
        except BaseException:
            self.destroy()
            raise
        return self

    def run_askonce(self, *arguments: str) -> str:
        return self._run(ASKONCE, *arguments)

    def run_python(self, *arguments: str) -> str:
        return self._run(PYTHON, *arguments)

    def _run(self, *command: str) -> str:
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command[-3:])} exited with {done.returncode}:\n{done.stderr[-3000:]}"
            )
        return done.stdout

    def api_token(self, email: str) -> str:
        """`askonce token create` prints the token alone on its last line."""
        return self.run_askonce("token", "create", "--email", email).strip().splitlines()[-1]

    def count_tickets(self) -> int:
        code = (
            "import django; django.setup()\n"
            "from askonce.tickets.models import Ticket\n"
            "print(Ticket.objects.count())"
        )
        return int(self.run_python("-c", code).strip())

    def destroy(self) -> None:
        if self.pg_database:
            psql(f"DROP DATABASE IF EXISTS {self.pg_database} WITH (FORCE)")
        shutil.rmtree(self.data_dir, ignore_errors=True)
