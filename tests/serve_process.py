"""`tracepane serve` as a real subprocess, for tests that need a process to kill or to clash with."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from tests.conftest import TRACEPANE


class ServeProcess:
    def __init__(self, db: Path, grpc_port: int = 0, http_port: int = 0, *,
                 command: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*(command or [str(TRACEPANE), "serve"]), "--db", str(db), "--grpc-port", str(grpc_port),
             "--http-port", str(http_port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.grpc_port = self.http_port = 0
        self.banner: list[str] = []  # the lines `wait_listening` read

    def wait_listening(self) -> None:
        """Read the banner: it is printed only once both ports are bound and the db is open."""
        for line in self.proc.stdout:
            self.banner.append(line)
            if m := re.search(r"OTLP/gRPC\s+\S+:(\d+)", line):
                self.grpc_port = int(m.group(1))
            elif m := re.search(r"OTLP/HTTP\s+\S+:(\d+)", line):
                self.http_port = int(m.group(1))
            elif line.strip().startswith("database"):
                return
        raise AssertionError(f"serve exited early: {self.proc.wait()} {self.proc.stderr.read()}")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.returncode
