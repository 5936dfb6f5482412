"""Files as the pipeline touches them: only regular files are read, every write is atomic.

A steward's folder is untrusted: a symbolic link, a FIFO or a device there is never followed or
opened (a link to /etc/passwd would otherwise be read and fingerprinted). Everything the pipeline
writes (reports, ledger entries, the published warehouse) goes to a temporary file in the same
folder first, then takes its name in one rename, so that a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def kind_of(path: Path) -> str:
    """'fichier', 'lien symbolique', 'dossier', 'tube nommé', 'périphérique', 'socket' (French, for messages),
    or 'absent'. Links are not followed."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return "absent"
    if stat.S_ISLNK(mode):
        return "lien symbolique"
    if stat.S_ISREG(mode):
        return "fichier"
    if stat.S_ISDIR(mode):
        return "dossier"
    if stat.S_ISFIFO(mode):
        return "tube nommé"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "périphérique"


def is_regular_file(path: Path) -> bool:
    return kind_of(path) == "fichier"


@contextlib.contextmanager
def open_regular(path: Path) -> Iterator[object]:
    """Open for reading, refusing anything but a regular file, even if it was swapped for a link or a
    FIFO since it was listed (O_NOFOLLOW, O_NONBLOCK, then a check of what was opened)."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(f"{path} n'est pas un fichier ordinaire")
        handle = os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise
    with handle:
        yield handle


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside `target`; once the block ends without error it replaces `target` in one
    rename. On any error (a full disk among them) the temporary file is removed and `target` is left as
    it was."""
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.close(descriptor)
    temporary = Path(name)
    os.chmod(temporary, 0o666 & ~_umask())  # as a plain open() would: readable by analysts
    try:
        yield temporary
        fsync(temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(target: Path, data: bytes | str) -> None:
    with atomic_path(target) as temporary:
        temporary.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Temporary files of `atomic_path` left by a process that was killed (its pid is gone)."""
    removed = []
    if kind_of(folder) != "dossier":
        return removed
    for leftover in folder.glob(".*.tmp"):
        parts = leftover.name.rsplit(".", 3)  # .<name>.<pid>.<random>.tmp
        try:
            pid = int(parts[1])
        except (IndexError, ValueError):
            continue
        if not process_alive(pid):
            leftover.unlink(missing_ok=True)
            removed.append(leftover)
    return removed


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
