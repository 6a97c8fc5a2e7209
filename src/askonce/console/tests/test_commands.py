"""The `askonce` command as a newcomer runs it: migrate, demo, token, user, serve."""

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from askonce.accounts.models import ApiToken, Organization, User
from askonce.console.demo import load_demo_data
from askonce.teams.models import Team
from askonce.tickets.models import Ticket


def askonce(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "askonce.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """A fresh SQLite data folder, as on a newcomer's machine (never the test database)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["ASKONCE_DATA_DIR"] = str(tmp_path / "var")
    env["ASKONCE_SWEEP_INTERVAL"] = "1"
    return env


@pytest.mark.django_db
def test_demo_data_is_complete_and_idempotent() -> None:
    assert load_demo_data() is True
    counts = (User.objects.count(), Team.objects.count(), Ticket.objects.count())
    assert load_demo_data() is False
    assert (User.objects.count(), Team.objects.count(), Ticket.objects.count()) == counts
    assert set(Team.objects.values_list("slug", flat=True)) >= {
        "support",
        "ops",
        "neteng",
        "finance",
        "legal",
        "engineering",
    }
    for email, team in [
        ("sam@example.com", "support"),
        ("lena@example.com", "support"),
        ("omar@example.com", "ops"),
        ("nina@example.com", "neteng"),
        ("fiona@example.com", "finance"),
        ("leo@example.com", "legal"),
        ("eve@example.com", "engineering"),
    ]:
        assert User.objects.get(email=email).teams.filter(slug=team).exists()
    assert User.objects.get(email="admin@example.com").is_superuser
    acme = Organization.objects.get(name="Acme Streaming")
    assert acme.plan == "premium" and acme.domains.filter(domain="acme.example").exists()
    assert User.objects.get(email="alice@acme.example").organization == acme
    bistro = Organization.objects.get(name="Bistro Maps")
    assert bistro.plan == "standard"
    assert User.objects.get(email="bob@bistro.example").organization == bistro
    assert User.objects.get(email="sam@example.com").time_zone == "America/Los_Angeles"
    assert User.objects.get(email="lena@example.com").time_zone == "Europe/London"


@pytest.mark.django_db
def test_token_create_prints_the_token_alone_on_the_last_line(make_staff, capsys) -> None:
    staff = make_staff("support", email="tokens@example.com")
    call_command("token", "create", "--email", "tokens@example.com")
    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert last_line.startswith("ao_") and " " not in last_line
    assert ApiToken.objects.filter(user=staff).count() == 1


@pytest.mark.django_db
def test_token_for_an_unknown_user_is_a_clear_error() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user with the email"):
        call_command("token", "create", "--email", "nobody@example.com")


@pytest.mark.django_db
def test_revoked_token_is_refused(make_staff, client) -> None:
    from askonce.accounts.actions import do_create_api_token, do_revoke_api_token
    from askonce.accounts.queries import forget_cached_tokens

    token, secret = do_create_api_token(user=make_staff("support"))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    assert client.get("/api/v1/tickets", **auth).status_code == 200
    do_revoke_api_token(token=token)
    forget_cached_tokens()
    assert client.get("/api/v1/tickets", **auth).status_code == 401


@pytest.mark.django_db
def test_user_create_makes_staff_in_a_team_and_contacts(make_team, make_organization) -> None:
    make_team("ops")
    call_command(
        "user",
        "create",
        "--email",
        "New.Person@Example.com",
        "--password",
        "long-enough-1",
        "--team",
        "ops",
    )
    person = User.objects.get(email="new.person@example.com")
    assert person.is_staff_member and person.teams.filter(slug="ops").exists()
    assert person.check_password("long-enough-1")

    organization = make_organization("Globex")
    call_command(
        "user",
        "create",
        "--email",
        "hank@globex.example",
        "--password",
        "pw-12345678",
        "--contact-of",
        "Globex",
    )
    assert User.objects.get(email="hank@globex.example").organization == organization


@pytest.mark.django_db
def test_user_create_refuses_unknown_team_and_duplicates(make_staff) -> None:
    from django.core.management.base import CommandError

    make_staff("support", email="taken@example.com")
    with pytest.raises(CommandError, match="Unknown team 'astro'"):
        call_command(
            "user", "create", "--email", "x@example.com", "--password", "p", "--team", "astro"
        )
    with pytest.raises(CommandError, match="already exists"):
        call_command("user", "create", "--email", "taken@example.com", "--password", "p")
    assert not User.objects.filter(email="x@example.com").exists()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(sqlite_env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """`askonce migrate`, `demo` and `serve` as `make run` does, on a fresh SQLite file."""
    assert askonce("migrate", "--no-input", "-v", "0", env=sqlite_env).returncode == 0
    demo = askonce("demo", "--if-empty", env=sqlite_env)
    assert demo.returncode == 0, demo.stderr
    assert "sam@example.com" in demo.stdout and "askonce-demo" in demo.stdout
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "askonce.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=sqlite_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # generous: CI machines are shared and noisy
        while True:
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=5)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail("askonce serve did not answer within 60 s")
                time.sleep(0.1)
        yield base, sqlite_env
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
        print(output)
    assert f"AskOnce is running at http://127.0.0.1:{port}/" in output


def _call(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_serve_runs_the_api_and_a_worker_that_records_misses(served) -> None:
    """Run as a newcomer would; the worker inside `serve` records a missed target on its own."""
    base, env = served
    token = askonce("token", "create", "--email", "sam@example.com", env=env).stdout.strip()
    ticket = _call(
        base,
        token,
        "POST",
        "/tickets",
        {"subject": "Edge 502s", "body": "Since noon.", "requester_email": "alice@acme.example"},
    )
    _call(base, token, "POST", f"/tickets/{ticket['id']}/claim")
    assigned = _call(base, token, "POST", f"/tickets/{ticket['id']}/assign", {"team": "ops"})
    assert assigned["status"] == "with_team"

    # Let the team's target pass without waiting two hours: move the due time into the past.
    database = Path(env["ASKONCE_DATA_DIR"]) / "askonce.sqlite3"
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    with sqlite3.connect(database, timeout=30) as db:
        db.execute(
            "UPDATE tickets_ticket SET response_due_at = ? WHERE id = ?", (past, ticket["id"])
        )

    deadline = time.monotonic() + 30
    verbs: list[str] = []
    while time.monotonic() < deadline:
        verbs = [e["verb"] for e in _call(base, token, "GET", f"/tickets/{ticket['id']}/events")]
        if "ticket.team_response_missed" in verbs:
            break
        time.sleep(0.5)
    assert "ticket.team_response_missed" in verbs
    assert verbs.count("ticket.team_response_missed") == 1


def test_serve_refuses_to_start_before_migrations(sqlite_env: dict[str, str]) -> None:
    result = askonce("serve", "--port", str(_free_port()), env=sqlite_env, timeout=60)
    assert result.returncode == 2
    assert "askonce migrate" in result.stderr
