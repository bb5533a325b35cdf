"""What runs grading jobs: local workers (the default) or Ray, for more than one machine.

Both take the same jobs (gpukit/batch/job.py) and yield their results as they finish, in any
order; the caller is the one writer. A local worker is a thread that waits on one job's nbgrader
process; W workers grade W submissions at once, each kernel capped at cores // W threads so that
they do not oversubscribe the machine.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from queue import Queue

from gpukit.batch.job import (
    GradingJob,
    JobResult,
    job_environment,
    pack_template,
    run_job,
    unpack_template,
)
from gpukit.batch.nbgrader_job import Server
from gpukit.course import nbgrader_steps
from gpukit.errors import GpukitError
from gpukit.sandbox.settings import NO_WALLS, Walls

GB = 1024 ** 3
KERNEL_MEMORY_GB = 3  # a Keras + PyTorch grading kernel takes 2-3 GB (measured: README)
RAY_VERSION = "2.60.0"  # the version the kit is tested with (pyproject's `ray` extra)
RAY_POLL_S = 10.0  # how often a batch on Ray looks whether the nodes its jobs need are still there


def default_workers() -> int:
    """One worker per core, as many as the memory holds kernels."""
    cores = os.cpu_count() or 1
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return max(1, cores)
    return max(1, min(cores, memory // (KERNEL_MEMORY_GB * GB)))


@dataclass(frozen=True)
class LocalWorkers:
    workers: int
    # One nbgrader process per worker, started ahead with nbgrader imported and a kernel server
    # beside it (nbgrader_job.py), kept from job to job and from the canary to the class until
    # close(); a job that outruns its time takes its worker's process with it.
    _servers: list[Server] = field(default_factory=list, init=False, compare=False, repr=False)

    def describe(self) -> str:
        return f"{self.workers} local worker{'s' if self.workers != 1 else ''}"

    @property
    def threads(self) -> int:
        return max(1, (os.cpu_count() or 1) // self.workers)

    def start(self, template: Path, walls: Walls = NO_WALLS) -> list[Server]:
        """The workers' processes for jobs on ``template`` (started now, if not yet)."""
        scratch = template.parent / "jobs"
        scratch.mkdir(exist_ok=True)
        environment = job_environment(template, scratch, self.threads, walls)
        if [server.environment for server in self._servers] != [environment] * self.workers:
            self.close()
            self._servers.extend(Server(environment, kernels=True)
                                 for _ in range(self.workers))
        for server in self._servers:
            server.start()
        return self._servers

    def close(self) -> None:
        for server in self._servers:
            server.close()
        self._servers.clear()

    def run(self, jobs: Iterable[GradingJob], template: Path, *, timeout_s: float,
            walls: Walls = NO_WALLS) -> Iterator[JobResult]:
        scratch = template.parent / "jobs"
        servers: Queue[Server] = Queue()
        for server in self.start(template, walls):
            servers.put(server)

        def on_a_worker(job: GradingJob) -> JobResult:
            server = servers.get()
            try:
                return run_job(job, template, timeout_s=timeout_s, threads=self.threads,
                               scratch_parent=scratch, server=server, walls=walls)
            finally:
                servers.put(server)

        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gpukit-grade")
        pending: set[Future] = set()
        try:
            for job in jobs:  # at most `workers` jobs in flight: the rest wait their turn
                pending.add(pool.submit(on_a_worker, job))
                if len(pending) >= self.workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    yield from (future.result() for future in done)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        finally:  # stopped (Ctrl-C, an error): no job keeps running behind our back
            for future in pending:
                future.cancel()
            if pending:
                nbgrader_steps.kill_running()
                self.close()
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass(frozen=True)
class RayCluster:
    """Jobs as Ray tasks: on a running cluster (``address``) or a local Ray instance (None).

    Each task declares what a grading kernel needs: ``cpus`` cores, the course's memory limit,
    and a GPU when the lab's GPU checks should run (then Ray places it on a GPU node). The
    course travels with the tasks (a packed template), so a node needs only gpukit installed
    and the datasets at the course's data directory.
    """

    address: str | None
    cpus: int = 1
    memory_mb: int = 6144
    gpus: float = 0

    def describe(self) -> str:
        return f"Ray at {self.address}" if self.address else "a local Ray instance"

    def run(self, jobs: Iterable[GradingJob], template: Path, *, timeout_s: float,
            walls: Walls = NO_WALLS) -> Iterator[JobResult]:
        """Every job as a task; a job whose node was lost (killed, out of memory, gone from
        the cluster) or that no node left can run comes back ``lost``: the grader's fault,
        graded again on the next run."""
        ray = self._connect()
        archive = pack_template(template)
        key = hashlib.sha256(archive).hexdigest()[:16]
        packed = ray.put(archive)
        task = ray.remote(_grade_on_node).options(num_cpus=self.cpus,
                                                  memory=self.memory_mb * 1024 * 1024,
                                                  num_gpus=self.gpus, max_retries=0)
        pending = {task.remote(job, packed, key, timeout_s, self.cpus, walls): job
                   for job in jobs}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1, timeout=RAY_POLL_S)
                if not done:
                    missing = self._missing_resources(ray)
                    if missing:  # what is left waits for a node that is gone
                        for reference, job in list(pending.items()):
                            ray.cancel(reference, force=True)
                            del pending[reference]
                            yield _lost(job, f"no node of the cluster has {missing} any more")
                    continue
                job = pending.pop(done[0])
                try:
                    yield ray.get(done[0])
                except ray.exceptions.RayError as error:
                    yield _lost(job, _ray_failure(error))
        finally:
            for reference in pending:
                ray.cancel(reference, force=True)

    def _missing_resources(self, ray) -> str:
        """What a task needs that no live node of the cluster offers now, in words ("" if
        none is missing)."""
        available = ray.cluster_resources()
        needs = {"GPU": self.gpus, "CPU": self.cpus}
        return " and ".join(f"a {name}" for name, amount in needs.items()
                            if amount and available.get(name, 0) < amount)

    def start(self, template: Path, walls: Walls = NO_WALLS) -> None:
        """Nothing to start ahead: Ray's workers belong to the cluster."""

    def close(self) -> None:
        """Nothing to end: Ray's workers belong to the cluster."""

    def cluster_gpus(self) -> float:
        return self._connect().cluster_resources().get("GPU", 0)

    def _connect(self):
        """Ray, connected to the cluster (or a local instance started) once per process."""
        ray = require_ray()
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        return ray


def _grade_on_node(job: GradingJob, archive: bytes, key: str, timeout_s: float,
                   threads: int, walls: Walls) -> JobResult:
    """A Ray task: the template unpacked once per node, then the same job as a local worker's.
    The result names the Ray node (several may share a host name)."""
    import ray

    base = Path(tempfile.gettempdir()) / f"gpukit-{os.getuid()}" / "templates" / key
    template = unpack_template(archive, base / "course")
    (base / "jobs").mkdir(exist_ok=True)
    result = run_job(job, template, timeout_s=timeout_s, threads=threads,
                     scratch_parent=base / "jobs", walls=walls)
    result.node = f"{result.node} (Ray node {ray.get_runtime_context().get_node_id()[:12]})"
    return result


def _lost(job: GradingJob, why: str) -> JobResult:
    return JobResult(job.student, "lost", why)


def _ray_failure(error: Exception) -> str:
    """A Ray task's failure in one line: the node or worker that died, and why."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}"


def require_ray():
    try:
        import ray
    except ImportError:
        raise GpukitError("Grading with --ray needs Ray, an optional extra of gpukit.",
                          hint=f'Install it: .venv/bin/pip install -e ".[ray]" (Ray '
                          f"{RAY_VERSION}), on this machine and on every node of the "
                          "cluster.") from None
    return ray
