"""Where data lives, and verified downloads."""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from ..exceptions import DownloadError

__all__ = ["get_data_home", "RemoteFile", "download", "InteractionDataset"]


def get_data_home(data_home: str | os.PathLike | None = None) -> Path:
    """The cache directory for downloaded data.

    Order: the ``data_home`` argument, the ``LLMSEQREC_DATA`` environment variable, then
    ``~/.cache/llmseqrec``. The directory is created if needed.
    """
    home = Path(
        data_home or os.environ.get("LLMSEQREC_DATA") or Path.home() / ".cache" / "llmseqrec"
    )
    home = home.expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


@dataclass(frozen=True)
class RemoteFile:
    """A file to download: its URL, the local file name and its checksum.

    ``checksum`` is ``"sha256:<hex>"`` or ``"md5:<hex>"`` (GroupLens only publishes MD5);
    ``None`` means the publisher gives none, and a warning shows the SHA-256 actually seen.
    """

    url: str
    filename: str
    checksum: str | None = None


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download(remote: RemoteFile, directory: str | os.PathLike[str], timeout: float = 30.0) -> Path:
    """Download ``remote`` into ``directory`` (skipped if a verified copy exists).

    Raises
    ------
    DownloadError
        When the URL cannot be reached (the message names the file and the URL) or the
        checksum does not match.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / remote.filename
    if target.exists() and _verify(target, remote, raise_error=False):
        return target
    partial = target.with_suffix(target.suffix + ".part")
    try:
        with urllib.request.urlopen(remote.url, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                open(partial, "wb") as out,
                tqdm(total=total, unit="B", unit_scale=True, desc=remote.filename) as bar,
            ):
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"Could not download {remote.filename} from {remote.url} ({exc}). If this machine is "
            f"offline, download it elsewhere and place it at {target}."
        ) from exc
    _verify(partial, remote, raise_error=True)
    partial.replace(target)
    return target


def _verify(path: Path, remote: RemoteFile, raise_error: bool) -> bool:
    if remote.checksum is None:
        warnings.warn(
            f"{remote.filename}: the publisher gives no checksum; sha256 of the downloaded file is "
            f"{_digest(path, 'sha256')}",
            stacklevel=3,
        )
        return True
    algorithm, expected = remote.checksum.split(":", 1)
    actual = _digest(path, algorithm)
    if actual != expected:
        if raise_error:
            path.unlink(missing_ok=True)
            raise DownloadError(
                f"{remote.filename} from {remote.url}: {algorithm} {actual} != expected {expected}"
            )
        return False
    return True


@dataclass
class InteractionDataset:
    """A data set of sessions: interactions plus item texts.

    Attributes
    ----------
    name : str
    interactions : pandas.DataFrame
        Columns ``session_id``, ``item_id``, ``timestamp``; rows in canonical order
        (chronological within a session, ties in file order).
    items : pandas.DataFrame
        Item text fields (``title``, ...) indexed by ``item_id``.
    """

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame

    def stats(self) -> dict:
        """Number of sessions, items and interactions, and the mean session length."""
        inter = self.interactions
        n_sessions = inter["session_id"].nunique()
        return {
            "dataset": self.name,
            "n_sessions": int(n_sessions),
            "n_items": int(inter["item_id"].nunique()),
            "n_interactions": len(inter),
            "mean_session_length": len(inter) / max(n_sessions, 1),
        }
