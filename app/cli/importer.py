"""``onestop import``: a file of events into the database, through the shared ingestion.

The file is streamed (never held in memory) and sent in batches to ``app.ingest.service.ingest``
— the very code behind ``POST /api/v1/events/batch`` — so an imported event is validated,
stored and folded exactly like a pushed one. After each committed batch a checkpoint (the byte
offset and record count reached, the totals so far, the size of the rejects file) is written
atomically next to the file; a rerun after a crash resumes there. A batch that committed just
before a crash, but whose checkpoint was not written, is sent again: its events are then
reported as duplicates (event ids are idempotency keys), never stored twice. Up to ``jobs``
batches are in flight at once (the next one is validated while the database stores the last);
their results are taken, and the checkpoint advanced, in file order.

Two formats:

- ``jsonl``: one canonical event (the ``POST /api/v1/events`` body) per line.
- ``national``: a national-format export, a JSON array of dossier records (or the portal's
  envelope ``{"service": ..., "data": [...]}``), each mapped to its events by ``app.dvcqg``.

Either may be gzip-compressed; it is recognised by its first bytes and read through ``gzip``
(checkpoint offsets then count uncompressed bytes; a resume decompresses up to them again).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import io
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson

from app.db import Database
from app.ingest.schemas import ValidationContext
from app.ingest.service import IngestOutcome, ingest

Format = Literal["jsonl", "national"]
HEAD_BYTES = 64 * 1024
GZIP_MAGIC = b"\x1f\x8b"
CONFLICT_ERROR = {
    "loc": ["event_id"],
    "msg": "this source already stored a different event under this event_id",
    "type": "conflict",
}


class ImportAborted(Exception):
    """A problem that stops the import before it starts (shown to the user as is)."""


@dataclass
class Totals:
    records: int = 0  # lines (jsonl) or dossier records (national) read
    events: int = 0  # events handed to ingestion
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    invalid: int = 0  # invalid events, plus lines or records that gave no event at all

    @property
    def rejected(self) -> int:
        return self.conflicts + self.invalid


@dataclass
class Checkpoint:
    """How far an import got: everything before ``offset`` / ``records`` is committed."""

    file: str
    head: str
    source: str
    format: str
    offset: int = 0
    records: int = 0
    rejects_offset: int = 0
    totals: Totals = field(default_factory=Totals)

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        if not path.exists():
            return None
        data = orjson.loads(path.read_bytes())
        data["totals"] = Totals(**data["totals"])
        return cls(**data)

    def save(self, path: Path) -> None:
        """Write atomically: a crash leaves the old checkpoint or the new one, never half."""
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as fh:
            fh.write(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)


@dataclass
class Chunk:
    """One line or record of the file: the events it holds, or why it holds none."""

    number: int  # 1-based line (jsonl) or record (national) number
    end: int  # byte offset just after it (jsonl); bytes read so far (national)
    items: list[Any]
    problems: list[dict[str, Any]]


def file_head(path: Path) -> str:
    """A fingerprint of the file's first bytes, to refuse resuming on another file."""
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read(HEAD_BYTES)).hexdigest()


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def open_events(path: Path) -> io.BufferedIOBase:
    """The file's bytes, decompressed on the fly when it is gzip (``.jsonl.gz`` exports)."""
    if is_gzip(path):
        return gzip.open(path, "rb")
    return open(path, "rb")


def detect_format(path: Path) -> Format:
    """``national`` for a JSON array or a ``{"data": [...]}`` envelope, else ``jsonl``."""
    with open_events(path) as fh:
        first_line = fh.readline(HEAD_BYTES).lstrip(b"\xef\xbb\xbf").strip()
    if first_line.startswith(b"["):
        return "national"
    try:
        value = orjson.loads(first_line)
    except orjson.JSONDecodeError:
        # a pretty-printed object spans lines: only a national envelope looks like that
        return "national" if first_line.startswith(b"{") else "jsonl"
    if isinstance(value, dict) and "data" in value and "event_id" not in value:
        return "national"
    return "jsonl"


def read_jsonl(fh: io.BufferedIOBase, *, offset: int, line: int) -> Iterator[Chunk]:
    """Canonical events, one per line, from byte ``offset`` (which starts line ``line + 1``)."""
    fh.seek(offset)
    position = offset
    for raw in fh:
        position += len(raw)
        line += 1
        text = raw.strip()
        if line == 1:
            text = text.removeprefix(b"\xef\xbb\xbf")
        if not text:
            yield Chunk(line, position, [], [])
            continue
        try:
            yield Chunk(line, position, [orjson.loads(text)], [])
        except orjson.JSONDecodeError as exc:
            problem = {
                "loc": ["line"],
                "msg": f"not valid UTF-8 JSON: {exc.msg}",
                "type": "json_invalid",
            }
            yield Chunk(line, position, [], [problem])


def read_national(fh: io.BufferedIOBase, *, skip: int, db: Database) -> Iterator[Chunk]:
    """Dossier records of a national export, each mapped to canonical events."""
    import ijson

    from app.dvcqg.mapping import map_dossier
    from app.dvcqg.service import mapping_options

    options = mapping_options(db.settings)
    fh.seek(0)
    head = fh.read(HEAD_BYTES).lstrip(b"\xef\xbb\xbf").lstrip()
    prefix = "item" if head.startswith(b"[") else "data.item"
    fh.seek(0)
    number = 0
    try:
        for record in ijson.items(fh, prefix, use_float=True):
            number += 1
            if number <= skip:
                continue
            mapped = map_dossier(record, options)
            yield Chunk(
                number,
                fh.tell(),
                [event.body for event in mapped.events],
                [problem.as_dict() for problem in mapped.problems],
            )
    except ijson.JSONError as exc:
        raise ImportAborted(
            f"the national export is not valid JSON after record {number}: {exc}"
        ) from exc


class Importer:
    """Streams one file into the database, batch by batch, resumable."""

    def __init__(
        self,
        db: Database,
        *,
        path: Path,
        source: str,
        fmt: Format,
        batch_size: int,
        checkpoint_path: Path,
        rejects_path: Path,
        restart: bool = False,
        jobs: int = 1,
        on_progress: Callable[[int, Totals], None] | None = None,
    ) -> None:
        self.db = db
        self.path = path
        self.source = source
        self.fmt: Format = fmt
        self.batch_size = batch_size
        self.checkpoint_path = checkpoint_path
        self.rejects_path = rejects_path
        self.on_progress = on_progress
        self.jobs = max(1, jobs)
        self.size = path.stat().st_size  # on disk: compressed, for a gzip file
        self._raw: io.BufferedIOBase | None = (
            None  # the file on disk, to tell progress through gzip
        )
        self.ctx = ValidationContext.make(db.settings.zone, db.settings.max_future_skew_seconds)
        self.checkpoint = self._start(restart)

    def position(self) -> int:
        """Bytes of the file on disk read so far (compressed bytes for a gzip file)."""
        if self._raw is None or self._raw.closed:
            return self.checkpoint.offset if not is_gzip(self.path) else 0
        return self._raw.tell()

    @property
    def resumed(self) -> bool:
        return self.checkpoint.records > 0

    def _start(self, restart: bool) -> Checkpoint:
        fresh = Checkpoint(
            file=str(self.path.resolve()),
            head=file_head(self.path),
            source=self.source,
            format=self.fmt,
        )
        previous = None if restart else Checkpoint.load(self.checkpoint_path)
        if previous is None:
            return fresh
        for name in ("head", "source", "format"):
            if getattr(previous, name) != getattr(fresh, name):
                raise ImportAborted(
                    f"{self.checkpoint_path} belongs to an import of another "
                    f"{'file' if name == 'head' else name}; pass --restart to start over"
                )
        return previous

    async def run(self) -> Totals:
        """Send every batch; up to ``jobs`` are in flight, their results are taken in order."""
        cp = self.checkpoint
        in_flight: deque[_InFlight] = deque()
        # One task reads in the CLI's loop: blocking file reads and writes hold up nothing.
        with open_events(self.path) as fh, open(self.rejects_path, "ab") as rejects:  # noqa: ASYNC230
            self._raw = getattr(fh, "fileobj", None) or fh
            rejects.truncate(cp.rejects_offset)  # lines of a batch that never committed
            if self.fmt == "jsonl":
                chunks = read_jsonl(fh, offset=cp.offset, line=cp.records)
            else:
                chunks = read_national(fh, skip=cp.records, db=self.db)
            try:
                batch: list[Chunk] = []
                pending = 0
                for chunk in chunks:
                    batch.append(chunk)
                    pending += len(chunk.items)
                    if pending >= self.batch_size:
                        in_flight.append(self._start_batch(batch))
                        batch, pending = [], 0
                        if len(in_flight) >= self.jobs:
                            await self._finish_batch(in_flight.popleft(), rejects)
                if batch:
                    in_flight.append(self._start_batch(batch))
                while in_flight:
                    await self._finish_batch(in_flight.popleft(), rejects)
            finally:
                for waiting in in_flight:  # after a failure: the checkpoint stays before them
                    waiting.task.cancel()
                for waiting in in_flight:
                    with contextlib.suppress(BaseException):
                        await waiting.task
        self.checkpoint_path.unlink(missing_ok=True)
        if cp.rejects_offset == 0:
            self.rejects_path.unlink(missing_ok=True)
        return cp.totals

    def _start_batch(self, batch: list[Chunk]) -> _InFlight:
        items: list[Any] = []
        owners: list[int] = []
        for chunk in batch:
            items.extend(chunk.items)
            owners.extend([chunk.number] * len(chunk.items))
        task = asyncio.ensure_future(self._ingest(items))
        return _InFlight(batch, items, owners, task)

    async def _ingest(self, items: list[Any]) -> IngestOutcome | None:
        if not items:
            return None
        return await ingest(self.db, source=self.source, items=items, ctx=self.ctx)

    async def _finish_batch(self, sent: _InFlight, rejects: IO[bytes]) -> None:
        """Record a committed batch: rejects, totals, then the checkpoint past it."""
        outcome = await sent.task
        cp, totals = self.checkpoint, self.checkpoint.totals
        unit = "line" if self.fmt == "jsonl" else "record"
        for chunk in sent.batch:
            if chunk.problems:
                reject = {unit: chunk.number, "result": "invalid", "errors": chunk.problems}
                rejects.write(orjson.dumps(reject) + b"\n")
                if not chunk.items:
                    totals.invalid += 1
        if outcome is not None:
            for result in outcome.results:
                if result.result in ("invalid", "conflict"):
                    reject = {
                        unit: sent.owners[result.index],
                        "event_id": result.event_id,
                        "result": result.result,
                        "errors": [e.model_dump() for e in result.errors]
                        if result.result == "invalid"
                        else [CONFLICT_ERROR],
                    }
                    rejects.write(orjson.dumps(reject) + b"\n")
            totals.events += len(sent.items)
            totals.accepted += outcome.accepted
            totals.duplicates += outcome.duplicates
            totals.conflicts += outcome.conflicts
            totals.invalid += outcome.invalid
        rejects.flush()
        last = sent.batch[-1]
        totals.records = cp.records = last.number
        cp.offset = last.end
        cp.rejects_offset = rejects.tell()
        cp.save(self.checkpoint_path)
        if self.on_progress is not None:
            self.on_progress(self.position(), totals)


@dataclass
class _InFlight:
    batch: list[Chunk]
    items: list[Any]
    owners: list[int]  # the line or record number of each item
    task: asyncio.Future[IngestOutcome | None]
