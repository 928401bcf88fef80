"""Where photo bytes live, behind a small interface. Default: a local directory (settings.resolved_media_dir)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol


class PhotoStorage(Protocol):
    #: Where an upload is received before it is stored (``put_file`` moves it in).
    spool_dir: Path

    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def get(self, key: str) -> bytes | None: ...

    def exists(self, key: str) -> bool: ...


class LocalPhotoStorage:
    """Files under ``root``; writes go to a temp file then rename, so a reader never sees half a file."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.spool_dir = self.root / ".incoming"  # on the same file system: put_file is a rename

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"bad storage key {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, key: str, path: Path) -> None:
        """Store the file at ``path`` under ``key``, moving it (a copy when on another file system)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        os.close(fd)
        try:
            shutil.move(path, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def storage_for(settings) -> PhotoStorage:
    return LocalPhotoStorage(settings.resolved_media_dir / "photos")
