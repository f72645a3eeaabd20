"""The spool: what was appended and synced survives; torn tails are cut; commits drop spent segments."""

from __future__ import annotations

from pathlib import Path

import pytest

from otelguard.collector import spool as spool_module
from otelguard.collector.spool import Spool


def test_append_sync_reopen_pending(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    seqs = [s.append("proj", f"payload-{i}".encode()) for i in range(5)]
    s.sync()
    s.close()
    assert seqs == [1, 2, 3, 4, 5]
    again = Spool(tmp_path)
    assert [(r.seq, r.project_id, r.payload) for r in again.pending()] == [
        (i, "proj", f"payload-{i - 1}".encode()) for i in range(1, 6)
    ]
    assert again.next_seq == 6
    assert again.spool_id == s.spool_id


def test_commit_hides_records_and_survives_restart(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    for i in range(4):
        s.append("p", bytes([i]))
    s.sync()
    s.commit(2)
    assert [r.seq for r in s.pending()] == [3, 4]
    s.close()
    again = Spool(tmp_path)
    assert again.checkpoint.committed == 2
    assert [r.seq for r in again.pending()] == [3, 4]


def test_torn_tail_is_cut_and_sequence_continues(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    s.append("p", b"a" * 100)
    s.append("p", b"b" * 100)
    s.sync()
    s.close()
    [segment] = tmp_path.glob("seg-*.log")
    data = segment.read_bytes()
    segment.write_bytes(data[:-30])  # the second record lost its tail in a crash
    again = Spool(tmp_path)
    assert [r.payload for r in again.pending()] == [b"a" * 100]
    assert again.append("p", b"c") == 2
    again.sync()
    again.close()
    assert [r.payload for r in Spool(tmp_path).pending()] == [b"a" * 100, b"c"]


def test_corrupt_record_stops_reading(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    s.append("p", b"first")
    s.append("p", b"second")
    s.sync()
    s.close()
    [segment] = tmp_path.glob("seg-*.log")
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF  # flip a payload byte of the last record: its crc no longer matches
    segment.write_bytes(bytes(data))
    assert [r.payload for r in Spool(tmp_path).pending()] == [b"first"]


def test_segments_rotate_and_spent_ones_are_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool_module, "_SEGMENT_BYTES", 100)
    s = Spool(tmp_path)
    for _ in range(6):
        s.append("p", b"x" * 90)  # each record (with its header) fills a segment
    s.sync()
    assert len(list(tmp_path.glob("seg-*.log"))) == 6
    s.commit(4)
    remaining = sorted(p.name for p in tmp_path.glob("seg-*.log"))
    assert remaining == [f"seg-{5:020d}.log", f"seg-{6:020d}.log"]
    assert [r.seq for r in s.pending()] == [5, 6]


def test_intent_is_persisted_until_commit(tmp_path: Path) -> None:
    s = Spool(tmp_path)
    s.append("p", b"1")
    s.sync()
    s.record_intent(1, 1)
    assert Spool(tmp_path).checkpoint.intent == (1, 1)
    s.commit(1)
    assert Spool(tmp_path).checkpoint.intent is None
