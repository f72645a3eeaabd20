"""An append-only, fsync'd log of accepted OTLP requests: nothing is acknowledged before it is here.

Layout of ``<dir>``: segment files ``seg-<first seq>.log`` holding records, and ``checkpoint.json`` saying
which sequence numbers are durably in the store (``committed``) and which batch was being written when the
process stopped (``intent``: replayed with the same deduplication token, so it lands exactly once).

A record is ``<header><project id><payload>`` with header ``(payload length, project id length, seq, crc32)``.
A torn record at the tail (a crash mid-write) was never acknowledged, since acknowledgement follows fsync;
it is cut off at start.
"""

from __future__ import annotations

import itertools
import json
import os
import struct
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_HEADER = struct.Struct("<IHQI")
_SEGMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SpoolRecord:
    seq: int
    project_id: str
    payload: bytes


@dataclass(slots=True)
class Checkpoint:
    spool_id: str
    committed: int  # every seq <= committed is in the store
    intent: tuple[int, int] | None  # a batch whose insert may or may not have landed


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """Not thread-safe: one writer thread appends, the batch writer thread checkpoints (separate files)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.checkpoint = self._read_checkpoint()
        self.spool_id = self.checkpoint.spool_id
        self._segments = sorted(self.dir.glob("seg-*.log"))
        self.next_seq = self._repair_tail()
        self._file = None if not self._segments else open(self._segments[-1], "ab")  # noqa: SIM115

    # -- checkpoint -------------------------------------------------------------------------------------
    def _read_checkpoint(self) -> Checkpoint:
        path = self.dir / "checkpoint.json"
        if not path.exists():
            cp = Checkpoint(spool_id=uuid.uuid4().hex[:12], committed=0, intent=None)
            self._write_checkpoint(cp)
            return cp
        doc = json.loads(path.read_text())
        intent = doc.get("intent")
        return Checkpoint(doc["spool_id"], int(doc["committed"]), tuple(intent) if intent else None)

    def _write_checkpoint(self, cp: Checkpoint) -> None:
        tmp = self.dir / "checkpoint.json.tmp"
        with open(tmp, "w") as fh:
            json.dump({"spool_id": cp.spool_id, "committed": cp.committed, "intent": cp.intent}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.dir / "checkpoint.json")
        _fsync_dir(self.dir)

    def record_intent(self, first: int, last: int) -> None:
        self.checkpoint.intent = (first, last)
        self._write_checkpoint(self.checkpoint)

    def commit(self, last: int) -> None:
        """Everything up to ``last`` is in the store: move the checkpoint and drop spent segments."""
        self.checkpoint.committed = max(self.checkpoint.committed, last)
        self.checkpoint.intent = None
        self._write_checkpoint(self.checkpoint)
        # A segment is spent when the next one starts at or before committed + 1.
        segments = sorted(self.dir.glob("seg-*.log"))
        for current, following in itertools.pairwise(segments):
            if _first_seq(following) <= self.checkpoint.committed + 1:
                current.unlink(missing_ok=True)

    # -- appending ------------------------------------------------------------------------------------
    def append(self, project_id: str, payload: bytes) -> int:
        """Write one record (not yet durable: call ``sync``). Returns its sequence number."""
        seq = self.next_seq
        if self._file is None or self._file.tell() >= _SEGMENT_BYTES:
            self._rotate(seq)
        assert self._file is not None
        project = project_id.encode()
        crc = zlib.crc32(payload, zlib.crc32(project, seq & 0xFFFFFFFF))
        self._file.write(_HEADER.pack(len(payload), len(project), seq, crc))
        self._file.write(project)
        self._file.write(payload)
        self.next_seq = seq + 1
        return seq

    def sync(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())

    def _rotate(self, first_seq: int) -> None:
        if self._file is not None:
            self.sync()
            self._file.close()
        path = self.dir / f"seg-{first_seq:020d}.log"
        self._file = open(path, "ab")  # noqa: SIM115
        _fsync_dir(self.dir)

    def close(self) -> None:
        if self._file is not None:
            self.sync()
            self._file.close()
            self._file = None

    # -- reading --------------------------------------------------------------------------------------
    def pending(self) -> Iterator[SpoolRecord]:
        """Records not yet committed to the store, in order."""
        for segment in sorted(self.dir.glob("seg-*.log")):
            for record, _ in _read_segment(segment):
                if record.seq > self.checkpoint.committed:
                    yield record

    def _repair_tail(self) -> int:
        """Cut a torn record off the last segment; return the next sequence number."""
        next_seq = self.checkpoint.committed + 1
        if not self._segments:
            return next_seq
        last_segment = self._segments[-1]
        good_end = 0
        for record, end in _read_segment(last_segment):
            next_seq = record.seq + 1
            good_end = end
        if good_end != last_segment.stat().st_size:
            with open(last_segment, "r+b") as fh:
                fh.truncate(good_end)
                os.fsync(fh.fileno())
        if good_end == 0:
            next_seq = max(next_seq, _first_seq(last_segment))
        return max(next_seq, self.checkpoint.committed + 1)


def _first_seq(segment: Path) -> int:
    return int(segment.stem.split("-", 1)[1])


def _read_segment(path: Path) -> Iterator[tuple[SpoolRecord, int]]:
    """Yield each intact record with the offset just past it; stop at the first torn or corrupt one."""
    data = path.read_bytes()
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, project_length, seq, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        end = start + project_length + length
        if end > len(data):
            return
        project = data[start : start + project_length]
        payload = data[start + project_length : end]
        if zlib.crc32(payload, zlib.crc32(project, seq & 0xFFFFFFFF)) != crc:
            return
        yield SpoolRecord(seq, project.decode(), payload), end
        offset = end
