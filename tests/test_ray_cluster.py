"""Ray across machines, for real: a cluster of two nodes on this machine, made as an instructor
makes one (`ray start --head`, then `ray start --address ...` on the second machine), the second
node advertising a GPU. `gpukit grade --ray ADDRESS` grades lab 2's mixed class there
(tests/mixed_class.py):

* with GPU nodes in the cluster every job asks for a GPU, so every job runs on the GPU node, and
  the class comes out exactly as one local worker grades it;
* the GPU node killed halfway through a batch loses nothing: the job it was running and the jobs
  no node can take any more are recorded as the grading environment's (no score, not the
  students'), the batch ends, and a rerun on the mended cluster finishes the class exactly.

(The node's GPU is a Ray resource only: this machine has none, so the GPU checks skip as they do
with a local worker.) The cluster uses Ray's token authentication, as Ray makes a cluster by
default: every node and the grading machine hold the same token (RAY_AUTH_TOKEN).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpukit.sandbox import processes
from tests.mixed_class import CLASS, course_copy, grade, state

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).parent / "ray")
SMALL_OBJECT_STORE = "--object-store-memory=100000000"  # 100 MB: jobs pass a small template
# The cluster's token, known to its nodes and to the grading machine (here: one machine).
CLUSTER_ENV = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
               "RAY_AUTH_TOKEN": secrets.token_hex(32)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _ray(*args: str) -> None:
    done = subprocess.run([RAY, *args], capture_output=True, text=True, timeout=180,
                          env=CLUSTER_ENV)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def _start_gpu_node(address: str, manager_port: int) -> None:
    _ray("start", f"--address={address}", "--num-cpus=1", "--num-gpus=1",
         f"--node-manager-port={manager_port}", SMALL_OBJECT_STORE, "--disable-usage-stats")


def _gpu_node_id(address: str) -> str:
    """The id of the live node that offers a GPU (asked of the cluster by a driver of its own)."""
    probe = ("import ray, sys\nray.init(address=sys.argv[1], log_to_driver=False)\n"
             "print(next(n['NodeID'] for n in ray.nodes() if n['Alive'] and "
             "n['Resources'].get('GPU')))")
    done = subprocess.run([sys.executable, "-c", probe, address], capture_output=True,
                          text=True, timeout=120, env=CLUSTER_ENV)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()[-1]


def _kill_node(manager_port: int) -> None:
    """Kill the node whose raylet listens on ``manager_port``, with every process it runs: a
    machine of the cluster lost, as a power cut would lose it."""
    for entry in os.listdir("/proc"):
        try:
            command = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command[0].endswith(b"raylet") and \
                f"--node_manager_port={manager_port}".encode() in command:
            processes.kill_descendants(int(entry))
            os.kill(int(entry), signal.SIGKILL)
            return
    raise AssertionError(f"no raylet listens on port {manager_port}")


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("ray")
    port, manager = _free_port(), _free_port()
    address = f"127.0.0.1:{port}"
    try:
        _ray("start", "--head", f"--port={port}", "--num-cpus=1", "--num-gpus=0",
             "--include-dashboard=false", SMALL_OBJECT_STORE, "--disable-usage-stats")
        _start_gpu_node(address, manager)
        yield {"address": address, "manager": manager}
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120,
                       env=CLUSTER_ENV)


def _graded_by_a_job(record: dict) -> bool:
    return record["status"] != "invalid"


def test_every_job_runs_on_the_gpu_node_and_grades_as_one_worker(
        cluster, released_course, mixed_class, tmp_path):
    lab = mixed_class["lab"]
    root = course_copy(released_course, tmp_path / "course")
    done = grade(root, lab.name, mixed_class["submissions"], tmp_path / "out",
                 "--ray", cluster["address"], env=CLUSTER_ENV)
    assert f"with Ray at {cluster['address']}" in done.stdout
    assert state(root, tmp_path / "out", lab) == mixed_class["state"]
    gpu_node = _gpu_node_id(cluster["address"])[:12]
    records = [json.loads(p.read_text()) for p in (tmp_path / "out" / "records").glob("*.json")]
    nodes = {r["student"]: r["node"] for r in records if _graded_by_a_job(r)}
    assert len(nodes) == sum(1 for status, _ in CLASS.values() if status != "invalid")
    assert all(f"Ray node {gpu_node}" in node for node in nodes.values()), nodes


def test_a_node_killed_mid_batch_loses_nothing_and_the_rerun_finishes_the_class(
        cluster, released_course, mixed_class, tmp_path):
    lab = mixed_class["lab"]
    root = course_copy(released_course, tmp_path / "course")
    output = tmp_path / "out"
    batch = subprocess.Popen([sys.executable, "-m", "gpukit", "grade",
                              str(mixed_class["submissions"]), "--assignment", lab.name,
                              "--output", str(output), "--no-progress", "--ray",
                              cluster["address"]], cwd=root, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=CLUSTER_ENV)
    records = output / "records"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and batch.poll() is None:
        if any(_graded_by_a_job(json.loads(p.read_text())) for p in records.glob("*.json")):
            break
        time.sleep(0.2)
    _kill_node(cluster["manager"])
    log, _ = batch.communicate(timeout=600)
    assert batch.returncode == 0, log[-3000:]
    killed = {p.stem: json.loads(p.read_text()) for p in records.glob("*.json")}
    assert set(killed) == set(CLASS), "a record for every submission"
    lost = {name: r for name, r in killed.items() if r["status"] == "environment"}
    assert lost, "the node died with jobs to do"
    for record in lost.values():
        assert "was lost before it finished" in record["message"]
        assert "not your fault" in record["message"] and record["checks"] == []
    for name, record in killed.items():  # graded before the node died: as expected
        if name not in lost:
            assert (record["status"], record["score"] if record["checks"] else None) == \
                CLASS[name]

    _start_gpu_node(cluster["address"], _free_port())
    grade(root, lab.name, mixed_class["submissions"], output, "--ray", cluster["address"],
          env=CLUSTER_ENV)
    assert state(root, output, lab) == mixed_class["state"]
