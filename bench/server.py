"""Start `askonce serve` for a benchmark, sample its memory, and stop it again.

Memory is the RSS sum of the whole process tree (the `serve` supervisor, multiprocessing resource
tracker, web workers, and the SMTP intake `serve` starts beside them), sampled every 20 ms, plus
each process's kernel high-water mark (VmHWM); `web_peak_mib` leaves the SMTP intake out.
"""

import http.client
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

from instance import ASKONCE


def _status_kib(pid: int) -> dict[str, int]:
    values = {}
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    values[name] = int(value.split()[0])
    except OSError:
        pass
    return values


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, read from /proc/<pid>/task/*/children."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
            except OSError:
                continue
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


class Server:
    """`askonce serve --no-worker` on 127.0.0.1 in its own session (process group)."""

    def __init__(self, *, port: int, env: dict[str, str], log_path: Path, workers: int = 2) -> None:
        self.port = port
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None
        self.peak_total_kib = 0
        self.peak_web_kib = 0
        self.high_water_kib: dict[int, int] = {}
        self._stop_sampling = threading.Event()
        self._sampler: threading.Thread | None = None

    def start(self, *, timeout: float = 90.0) -> "Server":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    ASKONCE,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--no-worker",
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"askonce serve exited early; see {self.log_path}")
            if len(self.worker_pids()) >= self.workers and self._answers():
                break
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(
                f"askonce serve did not answer in {timeout:.0f}s; see {self.log_path}"
            )
        # One answer proves one worker; give the others the same time to finish importing.
        for _ in range(4 * self.workers):
            self._answers()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        return self

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/login/")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def pids(self) -> list[int]:
        return descendants(self.process.pid) if self.process else []

    def worker_pids(self) -> list[int]:
        """The web worker processes (uvicorn starts them with multiprocessing's spawn)."""
        return [pid for pid in self.pids() if pid != self.process.pid and _is_web_worker(pid)]

    def connections_by_worker(self, client_ports: list[int]) -> dict[int, int]:
        """How many of our client connections (by local port) each worker accepted."""
        wanted = {port: 0 for port in client_ports}
        inode_of_client: dict[str, int] = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                rows = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for row in rows:
                fields = row.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if local_port == self.port and remote_port in wanted:
                    inode_of_client[fields[9]] = remote_port
        counts = {}
        for pid in self.worker_pids():
            counts[pid] = len(_socket_inodes(pid) & inode_of_client.keys())
        return counts

    def _sample(self) -> None:
        while not self._stop_sampling.is_set():
            total = web = 0
            for pid in self.pids():
                values = _status_kib(pid)
                total += values.get("VmRSS", 0)
                if not _is_side_service(pid):
                    web += values.get("VmRSS", 0)
                if "VmHWM" in values:
                    self.high_water_kib[pid] = max(self.high_water_kib.get(pid, 0), values["VmHWM"])
            self.peak_total_kib = max(self.peak_total_kib, total)
            self.peak_web_kib = max(self.peak_web_kib, web)
            time.sleep(0.02)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the live processes of the tree."""
        total = 0.0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def reset_peak(self) -> None:
        self.peak_total_kib = 0
        self.peak_web_kib = 0

    def rss_now_mib(self) -> float:
        return sum(_status_kib(pid).get("VmRSS", 0) for pid in self.pids()) / 1024

    def stop(self) -> dict[str, float]:
        """Stop the whole process group (ours: started with start_new_session) and report memory."""
        self._stop_sampling.set()
        if self._sampler is not None:
            self._sampler.join()
        workers = self.worker_pids() if self.process and self.process.poll() is None else []
        for pid in workers:
            values = _status_kib(pid)
            if "VmHWM" in values:
                self.high_water_kib[pid] = max(self.high_water_kib.get(pid, 0), values["VmHWM"])
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        worker_peaks = [self.high_water_kib.get(pid, 0) for pid in workers]
        return {
            "total_peak_mib": round(self.peak_total_kib / 1024, 1),
            # Without the processes `serve` starts beside the web server (SMTP intake): the part
            # comparable with the peers' gunicorn master + workers.
            "web_peak_mib": round(self.peak_web_kib / 1024, 1),
            "worker_hwm_mib": round(max(worker_peaks, default=0) / 1024, 1),
            "processes": len(self.high_water_kib),
        }


_side_service: dict[int, bool] = {}


def _is_side_service(pid: int) -> bool:
    """SMTP intake or a background worker that `serve` runs beside the web server."""
    if pid not in _side_service:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                words = cmdline.read().split(b"\0")
        except OSError:
            return False
        _side_service[pid] = b"askonce.cli" in words and bool({b"smtpd", b"worker"} & set(words))
    return _side_service[pid]


def _is_web_worker(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return b"multiprocessing.spawn" in cmdline.read()
    except OSError:
        return False
