"""A real Dovecot IMAP server on loopback ports, started from a throwaway config for the tests.

Nothing under /etc/dovecot or any system service is touched: config, users, sockets, state and
mail live in one temporary directory that is removed afterwards. As root, Dovecot's own
unprivileged users (from the dovecot-core package) run the login and mail processes, because
Dovecot refuses to read mail as root; the directory sits outside pytest's private tmp_path so
they can reach it, and keeps the Unix socket paths short.
"""

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

DOVECOT_HINT = "apt-get install -y dovecot-imapd"
PASSWORD = "pw-imap-1234"


class DovecotUnavailable(Exception):
    """Dovecot is missing or would not start; the message says why and how to fix it."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _executable() -> str:
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise DovecotUnavailable(f"dovecot is not installed ({DOVECOT_HINT})")
    return found


def _self_signed_certificate(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1, or None when openssl is missing (imaps is then off)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return certificate, key


class Dovecot:
    """One running Dovecot with `users` accounts; each has its own maildir, empty at first."""

    host = "127.0.0.1"

    def __init__(self, *, capabilities: str = "", tls: bool = True, users: int = 100) -> None:
        executable = _executable()
        self.directory = Path(tempfile.mkdtemp(prefix="askonce-dovecot-"))
        self.directory.chmod(0o755)
        self.port = _free_port()
        self.tls_port = 0
        self.certificate: Path | None = None
        # Every user exists from the start: Dovecot rereads a changed passwd-file only when its
        # mtime moves to another second, too coarse for tests that add users as they go.
        self.passwd = self.directory / "passwd"
        self.passwd.write_text(
            "".join(f"user{number}:{{PLAIN}}{PASSWORD}::::::\n" for number in range(1, users + 1))
        )
        self._unused: Iterator[int] = iter(range(1, users + 1))
        self.log = self.directory / "dovecot.log"
        mail = self.directory / "mail"
        mail.mkdir()
        if os.geteuid() == 0:
            try:
                mail_user = pwd.getpwnam("dovecot")
                pwd.getpwnam("dovenull")
            except KeyError:
                raise DovecotUnavailable(
                    f"the dovecot and dovenull users are missing ({DOVECOT_HINT})"
                ) from None
            os.chown(mail, mail_user.pw_uid, mail_user.pw_gid)
            accounts = "default_internal_user = dovecot\ndefault_login_user = dovenull\n"
            chroot = ""  # root can chroot the login processes, as Dovecot prefers
        else:
            mail_user = pwd.getpwuid(os.geteuid())
            accounts = (
                f"default_internal_user = {mail_user.pw_name}\n"
                f"default_internal_group = {grp.getgrgid(mail_user.pw_gid).gr_name}\n"
                f"default_login_user = {mail_user.pw_name}\n"
            )
            chroot = "  chroot =\n"
        tls_settings = "ssl = no\n"
        tls_listener = "  inet_listener imaps {\n    port = 0\n  }\n"
        pair = _self_signed_certificate(self.directory) if tls else None
        if pair is not None:
            self.certificate, key = pair
            self.tls_port = _free_port()
            tls_settings = f"ssl = yes\nssl_cert = <{self.certificate}\nssl_key = <{key}\n"
            tls_listener = (
                f"  inet_listener imaps {{\n    address = {self.host}\n"
                f"    port = {self.tls_port}\n    ssl = yes\n  }}\n"
            )
        config = self.directory / "dovecot.conf"
        config.write_text(
            "protocols = imap\n"
            f"listen = {self.host}\n"
            f"base_dir = {self.directory}/run\n"
            f"state_dir = {self.directory}/state\n"
            f"instance_name = askonce-test-{self.port}\n"
            f"log_path = {self.log}\n"
            + accounts
            + tls_settings
            + "disable_plaintext_auth = no\n"  # loopback only, and the tests use plain IMAP
            "auth_mechanisms = plain login\n"
            "auth_failure_delay = 0\n"
            f"first_valid_uid = {mail_user.pw_uid}\n"
            f"first_valid_gid = {mail_user.pw_gid}\n"
            f"mail_location = maildir:{mail}/%u\n"
            + (f"imap_capability = {capabilities}\n" if capabilities else "")
            + "passdb {\n  driver = passwd-file\n"
            f"  args = scheme=PLAIN username_format=%u {self.passwd}\n}}\n"
            "userdb {\n  driver = static\n"
            f"  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={mail}/%u\n}}\n"
            "service imap-login {\n"
            + chroot
            + f"  inet_listener imap {{\n    address = {self.host}\n    port = {self.port}\n  }}\n"
            + tls_listener
            + "}\n"
            # No auth penalty: the wrong-password test must not slow down the tests after it.
            "service anvil {\n"
            + chroot
            + "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n}\n"
        )
        self.process = subprocess.Popen(
            [executable, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._fail("dovecot exited at start")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as connection:
                    if connection.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.02)
        self._fail("dovecot did not answer within 10 s")

    def _fail(self, problem: str) -> None:
        if self.process.poll() is None:
            self.process.kill()
        _, stderr = self.process.communicate(timeout=10)
        log = self.log.read_text() if self.log.exists() else ""
        self.stop()
        raise DovecotUnavailable(f"{problem}:\n{(stderr.decode() + log)[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def fresh_user(self) -> str:
        """A user nobody has used yet, so with an empty mailbox."""
        return f"user{next(self._unused)}"

    def url(
        self, user: str, password: str = PASSWORD, folder: str = "INBOX", *, query: str = ""
    ) -> str:
        """The mailbox as ASKONCE_IMAP_MAILBOXES names it."""
        return f"imap://{user}:{password}@{self.host}:{self.port}/{folder}" + (
            f"?{query}" if query else ""
        )

    def login(self, user: str) -> imaplib.IMAP4:
        client = imaplib.IMAP4(self.host, self.port, timeout=10)
        client.login(user, PASSWORD)
        return client

    def append(self, user: str, message: EmailMessage | bytes, folder: str = "INBOX") -> None:
        """Deliver a message the way a mail client files one: IMAP APPEND, no flags."""
        raw = message if isinstance(message, bytes) else message.as_bytes()
        raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        client = self.login(user)
        try:
            typ, data = client.append(folder, None, None, raw)
            assert typ == "OK", data
        finally:
            client.logout()

    def contents(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Each message's bytes as the server hands them out, without marking anything read."""
        client = self.login(user)
        try:
            typ, data = client.select(f'"{folder}"', readonly=True)
            assert typ == "OK", data
            typ, data = client.fetch("1:*", "(BODY.PEEK[])")
            assert typ == "OK", data
            return [part[1] for part in data if isinstance(part, tuple)]
        finally:
            client.logout()

    def flags(self, user: str, folder: str = "INBOX") -> list[set[str]]:
        """The flags of each message in a folder, oldest first; [] when the folder is empty."""
        client = self.login(user)
        try:
            typ, data = client.select(f'"{folder}"', readonly=True)
            assert typ == "OK", data
            typ, data = client.fetch("1:*", "(FLAGS)") if int(data[0] or 0) else ("OK", [])
            assert typ == "OK", data
            found = []
            for line in data:
                text = line.decode() if isinstance(line, bytes) else ""
                inner = text[text.index("FLAGS (") + 7 :].split(")")[0] if "FLAGS (" in text else ""
                found.append(set(inner.split()) - {"\\Recent"})  # session state, not ours
            return found
        finally:
            client.logout()
