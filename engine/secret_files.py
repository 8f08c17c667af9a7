"""Secrets of the installation kept in files of the data directory: private (mode 600), ASCII, made once.

The person key, the data key and the checkpoint signing key are each read from such a file, or made into it on
first use; the checks and the one-line refusals are the same for all three, named by the setting (`label`) that
would replace the file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.config import ConfigurationError


def read_private_file(path: Path, label: str) -> str:
    """The file's text; FileNotFoundError when there is none, ConfigurationError when it cannot be used."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ConfigurationError(f"{label}: {path} is a directory, not a key file")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigurationError(
                f"{label}: {path} may be read by other users (mode {stat.S_IMODE(mode):o}); "
                f"make it private with: chmod 600 {path}"
            )
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise
    except OSError as e:
        raise ConfigurationError(f"{label}: cannot read {path} ({e.strerror})") from e
    except UnicodeDecodeError as e:
        raise ConfigurationError(f"{label}: {path} is not a key file (not ASCII text)") from e


def create_private_file(path: Path, label: str, content: bytes) -> bool:
    """Write `content` to a new file only its owner may read, synced to disk; False when another process made the
    file first (the caller then reads theirs)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as e:
        raise ConfigurationError(
            f"{label}: cannot create {path} ({e.strerror}); make the data directory writable or set {label}"
        ) from e
    with os.fdopen(fd, "wb") as out:
        out.write(content)
        out.flush()
        os.fsync(out.fileno())
    return True
