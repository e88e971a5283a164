"""A local Redis Cluster for the tests: 3 primaries and 3 replicas on free loopback ports.

`redis-server --cluster-enabled yes` six times (each in a temporary directory of its own,
with its cluster bus on a free port too: `cluster-port`), then `redis-cli --cluster create
... --cluster-replicas 1`. A node can be killed (a primary's replica takes over after
`cluster-node-timeout`) and started again (it rejoins, as a replica of its successor).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bot.dev.embedded_redis import find_redis_server, free_port

NODE_TIMEOUT_MS = 1000
"""How long a node may be silent before the others fail it over (the default is 15 s)."""
READY_TIMEOUT_S = 30.0


@dataclass
class Node:
    """One redis-server of the cluster."""

    port: int
    bus_port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class LocalCluster:
    """Six nodes; `url` names the first (any node would do)."""

    binary: str
    root: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.nodes[0].port}"

    def start_node(self, node: Node) -> None:
        args = [
            self.binary,
            "--port",
            str(node.port),
            "--cluster-port",
            str(node.bus_port),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(NODE_TIMEOUT_MS),
            "--repl-diskless-sync-delay",  # a new replica syncs at once, not 5 s later
            "0",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(node.workdir),
        ]
        node.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for_port(node)

    def kill(self, node: Node) -> None:
        """SIGKILL: no goodbye to the cluster, what a crashed machine does."""
        assert node.proc is not None
        node.proc.kill()
        node.proc.wait(timeout=10)
        node.proc = None

    def cli(self, *args: str, port: int | None = None) -> str:
        """`redis-cli` on a node (the first live one by default); its output."""
        port = port or next(n.port for n in self.nodes if n.proc is not None)
        done = subprocess.run(
            ["redis-cli", "-p", str(port), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def primaries(self) -> list[Node]:
        """The live nodes that are primaries now, by the cluster's own view."""
        by_port = {n.port: n for n in self.nodes}
        found = []
        for line in self.cli("cluster", "nodes").splitlines():
            _, address, flags, *_ = line.split()
            port = int(address.split("@")[0].rsplit(":", 1)[1])
            if "master" in flags.split(",") and "fail" not in flags:
                node = by_port[port]
                if node.proc is not None:
                    found.append(node)
        return found

    def primary_of(self, slot: int) -> Node:
        """The node serving `slot` now."""
        for line in self.cli("cluster", "nodes").splitlines():
            parts = line.split()
            if "master" not in parts[2] or "fail" in parts[2]:
                continue
            for spec in parts[8:]:
                low, _, high = spec.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    port = int(parts[1].split("@")[0].rsplit(":", 1)[1])
                    return next(n for n in self.nodes if n.port == port)
        raise AssertionError(f"nobody serves slot {slot}")

    def replica_of(self, primary: Node) -> Node:
        """A live replica of `primary`."""
        lines = [line.split() for line in self.cli("cluster", "nodes").splitlines()]
        ports = {parts[0]: int(parts[1].split("@")[0].rsplit(":", 1)[1]) for parts in lines}
        primary_id = next(p[0] for p in lines if ports[p[0]] == primary.port)
        for parts in lines:
            if "slave" in parts[2] and parts[3] == primary_id and "fail" not in parts[2]:
                return next(n for n in self.nodes if n.port == ports[parts[0]])
        raise AssertionError(f"no replica of {primary.address}")

    def wait_healthy(self, primaries: int = 3, timeout: float = READY_TIMEOUT_S) -> None:
        """Until every live node says the cluster is ok, `primaries` serve the slots, and each
        of them has as many in-sync replicas as there are live nodes to spare."""
        deadline = time.monotonic() + timeout
        while not self._healthy(primaries):
            if time.monotonic() > deadline:
                nodes = self.cli("cluster", "nodes")
                raise AssertionError(f"the test cluster did not become healthy:\n{nodes}")
            time.sleep(0.1)

    def _healthy(self, primaries: int) -> bool:
        live = [n for n in self.nodes if n.proc is not None]
        try:
            if not all(
                "cluster_state:ok" in self.cli("cluster", "info", port=n.port) for n in live
            ):
                return False
            serving = self.primaries()
            if len(serving) != primaries:
                return False
            replicas = (len(live) - primaries) // primaries
            for node in serving:
                info = self.cli("info", "replication", port=node.port)
                online = info.count("state=online")
                if online < replicas:
                    return False
        except subprocess.SubprocessError:
            return False
        return True


def _wait_for_port(node: Node) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert node.proc is not None
        if node.proc.poll() is not None:
            raise RuntimeError(f"redis-server on {node.port} exited at start")
        with contextlib.suppress(subprocess.SubprocessError, FileNotFoundError):
            out = subprocess.run(
                ["redis-cli", "-p", str(node.port), "ping"],
                capture_output=True,
                text=True,
                timeout=2,
            )
            if out.stdout.strip() == "PONG":
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server on {node.port} did not start")


def can_run() -> str | None:
    """Why no cluster can be started here, or None. Under CI (`CI` set, as `.ci/run` runs,
    which installs both) nothing is skipped: the tests then fail, saying what is missing."""
    if find_redis_server() is None or shutil.which("redis-cli") is None:
        if os.environ.get("CI"):
            return None
        return "a Redis Cluster needs redis-server and redis-cli on PATH"
    return None


@contextlib.contextmanager
def local_cluster() -> Iterator[LocalCluster]:
    """A fresh 3 + 3 cluster, stopped and removed afterwards."""
    binary = find_redis_server()
    assert binary is not None, "a Redis Cluster needs redis-server and redis-cli on PATH"
    with tempfile.TemporaryDirectory(prefix="hitlbot-cluster-") as root:
        cluster = LocalCluster(binary, Path(root))
        try:
            for index in range(6):
                workdir = Path(root) / f"node{index}"
                workdir.mkdir()
                node = Node(free_port(), free_port(), workdir)
                cluster.nodes.append(node)
                cluster.start_node(node)
            cluster.cli(
                "--cluster",
                "create",
                *(n.address for n in cluster.nodes),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            )
            cluster.wait_healthy()
            yield cluster
        finally:
            for node in cluster.nodes:
                if node.proc is not None:
                    node.proc.kill()
                    node.proc.wait(timeout=10)
