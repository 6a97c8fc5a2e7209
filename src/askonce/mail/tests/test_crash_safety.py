"""`askonce smtpd` killed in the middle of a stream of mail: every message answered 250 is one
ticket, exactly once, after the restart and the sender's retries."""

import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO

MESSAGES = 500
KILL_AFTER = 150  # accepted messages before the first SIGKILL, twice as many before the second
ATTEMPTS = 300  # per message; a retry waits RETRY_PAUSE
RETRY_PAUSE = 0.05
DEADLINE = 50.0  # seconds for the whole stream, restart included


def _environment(data_dir: Path) -> dict[str, str]:
    """A fresh SQLite install with the default addresses, whatever the test run itself uses."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "DATABASE_URL" and not name.startswith("ASKONCE_")
    }
    env["ASKONCE_DATA_DIR"] = str(data_dir)
    env["ASKONCE_MAIL_DOMAIN"] = "example.com"
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_smtpd(port: int, env: dict[str, str], log: IO[bytes]) -> subprocess.Popen:
    # Output goes to a file: a pipe nobody reads would fill up and stall the server.
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "askonce.cli",
            "smtpd",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--parent-pid",
            str(os.getpid()),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def _message(number: int) -> tuple[str, bytes]:
    sender = f"customer{number % 20}@load.example"
    raw = (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: Crash test {number}\r\n"
        f"Message-ID: <crash-{number}@load.example>\r\n\r\nMessage number {number}.\r\n"
    ).encode()
    return sender, raw


def _start_transaction(client: smtplib.SMTP, sender: str, raw: bytes) -> tuple[int, bytes]:
    """MAIL, RCPT, DATA and the message, without reading the final reply: (0, b"") if all went."""
    client.ehlo_or_helo_if_needed()
    for command in (f"MAIL FROM:<{sender}>", "RCPT TO:<support@example.com>", "DATA"):
        code, reply = client.docmd(command)
        if code >= 400:
            return code, reply
    client.send(raw + b".\r\n")
    return 0, b""


def _stored(database: Path, number: int) -> bool:
    with sqlite3.connect(database, timeout=30) as connection:
        found = connection.execute(
            "SELECT 1 FROM mail_inboundmail WHERE message_id = ?", (f"crash-{number}@load.example",)
        ).fetchone()
    return found is not None


def _wait_until_stored(database: Path, number: int) -> None:
    for _ in range(1000):
        if _stored(database, number):
            return
        time.sleep(0.01)
    raise AssertionError(f"message {number} was never stored")


def _children(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    return children


def _wait_until_gone(pids: list[int]) -> None:
    for _ in range(500):
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return
        time.sleep(0.01)
    raise AssertionError(f"the SMTP front {pids} outlived its killed parent")


def _stream(port: int, env: dict[str, str], log: IO[bytes]) -> tuple[dict[int, str], list[int]]:
    """Send every message until it gets 250, killing and restarting the server twice on the way.

    The first kill lands while the server is storing a message; the second after it committed
    one but before the client read the 250, so that message must come back "Already received".
    Returns the 250 replies by message number and the numbers in flight at each kill.
    """
    database = Path(env["ASKONCE_DATA_DIR"]) / "askonce.sqlite3"
    kills = [KILL_AFTER, 2 * KILL_AFTER]  # accepted messages before each SIGKILL
    in_flight: list[int] = []
    server = _start_smtpd(port, env, log)
    accepted: dict[int, str] = {}
    client: smtplib.SMTP | None = None
    deadline = time.monotonic() + DEADLINE
    try:
        for number in range(MESSAGES):
            sender, raw = _message(number)
            for _attempt in range(ATTEMPTS):
                assert time.monotonic() < deadline, (
                    f"only {len(accepted)} of {MESSAGES} accepted in {DEADLINE:.0f} s"
                )
                try:
                    if client is None:
                        client = smtplib.SMTP("127.0.0.1", port, timeout=15)
                    code, reply = _start_transaction(client, sender, raw)
                    if code == 0 and kills and len(accepted) == kills[0]:
                        if len(kills) == 2:
                            time.sleep(0.005)  # mid-way through storing it, most likely
                        else:
                            _wait_until_stored(database, number)
                        fronts = _children(server.pid)
                        assert fronts, "smtpd runs its SMTP front as a child"
                        server.send_signal(signal.SIGKILL)
                        server.wait(timeout=10)
                        _wait_until_gone(fronts)  # the front dies with it, port and all
                        kills.pop(0)
                        in_flight.append(number)
                        server = _start_smtpd(port, env, log)
                        # Whatever the dead server wrote back is lost with it, as in a crash.
                        code, reply = 421, b"killed"
                    elif code == 0:
                        code, reply = client.getreply()
                except OSError:  # refused while down, or cut off by the kill (SMTPException too)
                    code, reply = 421, b"connection lost"
                if code == 250:
                    accepted[number] = reply.decode()
                    break
                assert 400 <= code < 500, f"message {number} refused: {code} {reply!r}"
                if client is not None:
                    client.close()
                    client = None
                time.sleep(RETRY_PAUSE)
            else:
                raise AssertionError(f"message {number} still not accepted after {ATTEMPTS} tries")
        return accepted, in_flight
    finally:
        if client is not None:
            client.close()
        server.terminate()
        server.wait(timeout=20)


def test_a_killed_smtpd_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """SIGKILL twice mid-stream, restart, the sender retries: 500 mails, 500 tickets, none twice."""
    data_dir = tmp_path / "var"
    env = _environment(data_dir)
    migrate = subprocess.run(
        [sys.executable, "-m", "askonce.cli", "migrate", "--no-input", "-v", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    started = time.monotonic()
    with open(tmp_path / "smtpd.log", "wb") as log:
        accepted, in_flight = _stream(_free_port(), env, log)
    repeats = [number for number, reply in accepted.items() if "Already received" in reply]
    print(f"{len(accepted)} accepted in {time.monotonic() - started:.1f} s, killed at {in_flight}")
    print(f"answered 'Already received' after a restart: {repeats}")

    assert sorted(accepted) == list(range(MESSAGES))
    with sqlite3.connect(data_dir / "askonce.sqlite3", timeout=30) as database:
        stored = database.execute(
            "SELECT inbound.message_id, inbound.outcome, ticket.subject "
            "FROM mail_inboundmail AS inbound "
            "LEFT JOIN tickets_ticket AS ticket ON ticket.id = inbound.ticket_id"
        ).fetchall()
        subjects = [row[0] for row in database.execute("SELECT subject FROM tickets_ticket")]
        messages_per_ticket = Counter(
            row[0] for row in database.execute("SELECT ticket_id FROM tickets_message")
        )
    twice = [mid for mid, count in Counter(row[0] for row in stored).items() if count > 1]
    assert twice == [], f"stored twice: {twice}"
    expected = {f"crash-{number}@load.example": f"Crash test {number}" for number in accepted}
    assert {mid: subject for mid, _, subject in stored} == expected
    assert {outcome for _, outcome, _ in stored} == {"ticket_created"}
    assert sorted(subjects) == sorted(expected.values()), "no ticket without its stored mail"
    assert set(messages_per_ticket.values()) == {1}
    assert len(in_flight) == 2, "the server was killed twice"
    assert in_flight[1] in repeats, "the mail stored before the second kill was recognised"
    assert set(repeats) <= set(in_flight), f"only mail in flight at a kill is a repeat: {repeats}"
