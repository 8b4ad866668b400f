"""Disk staging for bulk results: bounded memory, resumable downloads, any child order.

With ``groupObjects: false`` Shopify may write a child line anywhere in the file, so an
order cannot be assembled until the whole file has been read. Lines are appended to a
local SQLite file (indexed by parent), together with the byte offset they reach, in one
transaction: a killed process resumes the download with an HTTP Range from that offset,
and memory stays flat whatever the store's size.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS lines (
    kind TEXT NOT NULL,
    seq INTEGER NOT NULL,
    gid TEXT,
    parent TEXT,
    created_at TEXT,
    body BLOB NOT NULL,
    PRIMARY KEY (kind, seq)
);
CREATE INDEX IF NOT EXISTS lines_parent ON lines (kind, parent) WHERE parent IS NOT NULL;
CREATE INDEX IF NOT EXISTS lines_roots ON lines (kind, seq) WHERE parent IS NULL;
CREATE INDEX IF NOT EXISTS lines_root_gids ON lines (kind, gid) WHERE parent IS NULL;
CREATE TABLE IF NOT EXISTS streams (kind TEXT PRIMARY KEY, state BLOB NOT NULL);
"""


class StreamState(msgspec.Struct):
    """Where one bulk stream (orders or customers) stands, persisted with its lines."""

    operation_id: str | None = None
    attempts: int = 0
    offset: int = 0
    file_lines: int = 0
    file_roots: int = 0
    complete: bool = False
    partial_since: str | None = None
    """When set, the current file continues a partial one from this ``createdAt``."""


class _Head(msgspec.Struct, rename={"parent_id": "__parentId", "created_at": "createdAt"}):
    id: str | None = None
    parent_id: str | None = None
    created_at: str | None = None


_head_decoder = msgspec.json.Decoder(_Head)


@dataclass(frozen=True)
class StagedRoot:
    seq: int
    gid: str
    body: bytes


def children_sql(parents: int) -> str:
    """Child lines of ``parents`` parent gids, in file order.

    ``INDEXED BY`` because, without statistics, SQLite prefers the primary key (it yields
    ``seq`` order) and scans every line of the kind on each call: quadratic over a file.
    """
    marks = ",".join("?" * parents)
    return (
        "SELECT parent, body FROM lines INDEXED BY lines_parent "  # noqa: S608
        f"WHERE kind = ? AND parent IN ({marks}) ORDER BY seq"
    )


class MalformedLineError(ValueError):
    """A JSONL line that is not a JSON object: the download was cut or corrupted."""


class Staging:
    """One staging file per backfill; safe to reopen after a crash."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def state(self, kind: str) -> StreamState:
        row = self._db.execute("SELECT state FROM streams WHERE kind = ?", (kind,)).fetchone()
        if row is None:
            return StreamState()
        return msgspec.json.decode(row[0], type=StreamState)

    def save_state(self, kind: str, state: StreamState) -> None:
        self._db.execute(
            "INSERT INTO streams (kind, state) VALUES (?, ?) "
            "ON CONFLICT (kind) DO UPDATE SET state = excluded.state",
            (kind, msgspec.json.encode(state)),
        )

    def reset(self, kind: str, state: StreamState) -> None:
        """Forget every staged line of ``kind`` (a fresh bulk job replaces them)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DELETE FROM lines WHERE kind = ?", (kind,))
            self.save_state(kind, state)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def drop_roots_since(self, kind: str, since: str, state: StreamState) -> int:
        """Drop roots created at or after ``since`` and their children (re-queried next)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            doomed = "SELECT gid FROM lines WHERE kind = ? AND parent IS NULL AND created_at >= ?"
            self._db.execute(
                f"DELETE FROM lines WHERE kind = ? AND parent IN ({doomed})",  # noqa: S608
                (kind, kind, since),
            )
            cursor = self._db.execute(
                "DELETE FROM lines WHERE kind = ? AND parent IS NULL AND created_at >= ?",
                (kind, since),
            )
            self.save_state(kind, state)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return cursor.rowcount

    def append(self, kind: str, lines: Sequence[bytes], offset: int, state: StreamState) -> None:
        """Stage complete lines and the byte offset they reach, atomically.

        ``state`` is updated (offset, line and root counts) only once the lines are stored.
        """
        rows = []
        next_seq = self._next_seq(kind)
        roots = 0
        for index, line in enumerate(lines):
            try:
                head = _head_decoder.decode(line)
            except msgspec.DecodeError as error:
                start = line[:60].decode("utf-8", errors="replace")
                raise MalformedLineError(
                    f"a line is not a JSON object ({error}; it starts {start!r})"
                ) from None
            if head.parent_id is None:
                roots += 1
            rows.append((kind, next_seq + index, head.id, head.parent_id, head.created_at, line))
        previous = (state.offset, state.file_lines, state.file_roots)
        state.offset = offset
        state.file_lines += len(rows)
        state.file_roots += roots
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT INTO lines (kind, seq, gid, parent, created_at, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            self.save_state(kind, state)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            state.offset, state.file_lines, state.file_roots = previous
            raise

    def _next_seq(self, kind: str) -> int:
        row = self._db.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM lines WHERE kind = ?", (kind,)
        ).fetchone()
        return int(row[0])

    def last_root_created_at(self, kind: str) -> str | None:
        row = self._db.execute(
            "SELECT MAX(created_at) FROM lines WHERE kind = ? AND parent IS NULL", (kind,)
        ).fetchone()
        return None if row is None else row[0]

    def root_count(self, kind: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM lines WHERE kind = ? AND parent IS NULL", (kind,)
        ).fetchone()
        return int(row[0])

    def roots_after(self, kind: str, after_seq: int, limit: int) -> list[StagedRoot]:
        rows = self._db.execute(
            "SELECT seq, gid, body FROM lines WHERE kind = ? AND parent IS NULL AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (kind, after_seq, limit),
        ).fetchall()
        return [StagedRoot(seq=row[0], gid=row[1], body=row[2]) for row in rows]

    def children(self, kind: str, parents: Iterable[str]) -> dict[str, list[bytes]]:
        """Child lines per parent gid, in file order."""
        wanted = list(parents)
        found: dict[str, list[bytes]] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            rows = self._db.execute(children_sql(len(chunk)), (kind, *chunk))
            for parent, body in rows:
                found.setdefault(parent, []).append(body)
        return found

    def orphan_count(self, kind: str) -> int:
        """Child lines whose parent never arrived: a truncated or corrupt result."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM lines AS child WHERE child.kind = ? AND child.parent IS NOT "
            "NULL AND NOT EXISTS (SELECT 1 FROM lines AS root WHERE root.kind = child.kind "
            "AND root.parent IS NULL AND root.gid = child.parent)",
            (kind,),
        ).fetchone()
        return int(row[0])

    def duplicate_roots(self, kind: str) -> int:
        """Roots staged more than once (a continuation overlapping what was kept)."""
        row = self._db.execute(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM lines "
            "WHERE kind = ? AND parent IS NULL GROUP BY gid HAVING COUNT(*) > 1)",
            (kind,),
        ).fetchone()
        return int(row[0])
