"""What the container image runs, without a container: the Dockerfile read with dockerfile-parse, and the catalog's
wheel installed into a fresh virtualenv, run with the image's entrypoint, command and environment.

No image registry is reachable from CI and docker cannot build there, so tests/deploy/test_image.py proves the image
this way: a role runs the same entrypoint script with the same ENV, with the image's two paths mapped onto folders
of the test (`/data`, the volume, and `/opt/catalog`, the virtualenv), as a user that is not root when the test runs
as root.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
IMAGE_VOLUME = "/data"
IMAGE_VENV = "/opt/catalog"
# The image's init (PID 1): a container runs it, a test has no need of it.
INIT = ["tini", "--"]


@dataclass(frozen=True)
class ImageSpec:
    """The parts of the Dockerfile that decide what a container runs."""

    env: dict[str, str]
    entrypoint: list[str]
    cmd: list[str]
    copies: dict[str, list[tuple[str, str]]]
    """COPY instructions (source, destination) per stage name."""
    stop_signal: signal.Signals = signal.SIGTERM
    """What `docker stop` (and the image's STOPSIGNAL) sends; SIGTERM when the Dockerfile does not say."""

    @classmethod
    def read(cls, path: Path = DOCKERFILE) -> ImageSpec:
        parser = DockerfileParser(str(path), env_replace=False)
        stage, copies, entrypoint, cmd, stop_signal = "", {}, [], [], signal.SIGTERM
        for instruction in parser.structure:
            name, value = instruction["instruction"], instruction["value"]
            if name == "FROM":
                stage = value.split()[-1]
            elif name == "COPY":
                *sources, destination = [part for part in value.split() if not part.startswith("--")]
                copies.setdefault(stage, []).extend((source, destination) for source in sources)
            elif name == "ENTRYPOINT":
                entrypoint = json.loads(value)
            elif name == "CMD":
                cmd = json.loads(value)
            elif name == "STOPSIGNAL":
                stop_signal = signal.Signals[value if value.startswith("SIG") else f"SIG{value}"]
        return cls(env=dict(parser.envs), entrypoint=entrypoint, cmd=cmd, copies=copies, stop_signal=stop_signal)

    def file_copied_to(self, destination: str) -> Path:
        """The repository file the image holds at `destination`."""
        for pairs in self.copies.values():
            for source, target in pairs:
                if target == destination:
                    return ROOT / source
        raise LookupError(f"the Dockerfile copies nothing to {destination}")


NOBODY = "nobody"


@functools.cache
def unprivileged() -> list[str]:
    """A command prefix that runs what follows as the user `nobody`, as the image runs as a user; empty when the test
    is not root or setpriv is missing. The user keeps one right, to read and search any folder (CAP_DAC_READ_SEARCH),
    so that it can run this Python, which may live under root's private home; what it may write is a user's."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return []
    prefix = ["setpriv", f"--reuid={NOBODY}", "--regid=nogroup", "--clear-groups",
              "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]
    try:
        subprocess.run([*prefix, sys.executable, "-c", ""], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return prefix


class InstalledImage:
    """The wheel built from the files the Dockerfile's first stage copies, installed in a fresh virtualenv.

    The virtualenv finds the wheel's dependencies in the test's own environment (a path entry after its own
    site-packages), and pip installs with `--no-index`: it downloads nothing (building the wheel fetches only the
    build backend pyproject.toml names, as the Dockerfile's build does), and it fails if the wheel declares a
    dependency that environment lacks.
    """

    def __init__(self, base: Path, spec: ImageSpec) -> None:
        self.spec = spec
        self.base = base
        self.venv = base / "venv"
        self.volume = base / "data"
        self.wheel = self._build_wheel()
        self._install()

    def _build_wheel(self) -> Path:
        context = self.base / "build-context"
        for source, destination in self.spec.copies["wheels"]:
            target = context / destination.removeprefix("./") if destination not in ("./", ".") else context
            origin = ROOT / source
            if origin.is_dir():
                shutil.copytree(origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / origin.name)
        dist = self.base / "dist"
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(dist), str(context)])
        (wheel,) = dist.glob("catalog-*.whl")
        return wheel

    def _install(self) -> None:
        for folder in (self.base, self.base / "dist"):
            folder.chmod(0o755)
        self.volume.mkdir()
        as_user = unprivileged()
        if as_user:
            self.venv.mkdir()
            for folder in (self.volume, self.venv):
                shutil.chown(folder, NOBODY, "nogroup")
        _run([*as_user, sys.executable, "-m", "venv", "--without-pip", str(self.venv)])
        site = Path(_run([str(self.venv / "bin" / "python"), "-c",
                          "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).strip())
        # A plain path line: the test environment's packages come after the virtualenv's own, and its .pth files
        # (the editable install of this checkout among them) are not run.
        (site / "test-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        env = {"PATH": os.environ["PATH"], "PIP_NO_CACHE_DIR": "1", "HOME": str(self.volume)}
        # pip itself comes from the test environment, like the dependencies.
        _run([*as_user, str(self.venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-index",
              "--disable-pip-version-check", "--no-warn-script-location", str(self.wheel)], env=env)

    def path(self, value: str) -> str:
        """An image path mapped onto the test's folders."""
        return value.replace(IMAGE_VENV, str(self.venv)).replace(IMAGE_VOLUME, str(self.volume))

    def environment(self, **deployment: str) -> dict[str, str]:
        """The image's ENV (paths mapped) plus what a deployment sets (`CATALOG_DATABASE_URL`, …); nothing else
        from the test's own environment leaks in (no PYTHONPATH pointing at the checkout)."""
        return {**{name: self.path(value) for name, value in self.spec.env.items()}, **deployment}

    def command(self, *args: str) -> list[str]:
        """The container's command line for `docker run IMAGE ARGS…` (the image's CMD when no ARGS)."""
        entrypoint = self.spec.entrypoint
        assert entrypoint[: len(INIT)] == INIT, f"the image's PID 1 is {INIT[0]}"
        script = self.spec.file_copied_to(f"/usr/local/bin/{entrypoint[len(INIT)]}")
        return [*unprivileged(), str(script), *entrypoint[len(INIT) + 1:], *(args or self.spec.cmd)]

    def start(self, *args: str, env: dict[str, str], **popen) -> subprocess.Popen:
        """Starts a role as the container would, in its own process group (a worker has children)."""
        return subprocess.Popen(self.command(*args), env=env, cwd=self.volume, start_new_session=True, **popen)

    def run(self, *args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), env=env, cwd=self.volume, capture_output=True, text=True,
                              timeout=timeout)


def _run(command: list[str], **kwargs) -> str:
    """Runs a build step; a failure shows the step's own output."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout
