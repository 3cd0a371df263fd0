"""Session recordings: raw ROS 2 messages in an MCAP file laid out the way rosbag2 writes them.

Profile ``ros2``, one ``ros2msg`` schema per type holding the complete message definition text
(rosbag2's ``LocalMessageDefinitionSource`` format, resolved through the ament index), channels
with ``cdr`` message encoding. Foxglove, ``ros2 bag`` and ``mcap_ros2`` read the result.

No ROS is needed here: the recorder node (:mod:`supersize_grasp.nodes.recorder`) hands over bytes.

Crash safety: messages are grouped in compressed chunks; each finished chunk goes straight to the
file (no user-space buffer), so after ``kill -9`` everything up to the last finished chunk is on
disk. Chunks close when full (``chunk_size``) or older than ``flush_interval``, bounding what a
crash loses in bytes and in seconds. Such a file has no summary or footer: :func:`read_messages`
reads it as it is, and :func:`recover` rewrites it into a finished file for any tool.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from mcap.exceptions import McapError
from mcap.records import Channel, Message, Schema
from mcap.stream_reader import StreamReader
from mcap.writer import CompressionType, Writer

PROFILE = "ros2"
SCHEMA_ENCODING = "ros2msg"
MESSAGE_ENCODING = "cdr"
SEPARATOR = "=" * 80
_MAX_DEPTH = 50
# rosbag2's parser: the type token at the start of each line of a .msg, then whitespace.
_FIELD_TYPE = re.compile(r"(?:^|\n)\s*([a-zA-Z0-9_/]+)(?:\[[^\]]*\])?\s+")
_PRIMITIVES = frozenset(
    ["bool", "byte", "char", "float32", "float64", "string"]
    + [f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)]
)
_NAME = r"[a-zA-Z][a-zA-Z0-9_]*"
_TYPE_NAME = re.compile(rf"^({_NAME})/(?:({_NAME})/)?({_NAME})$")
_COMPRESSION = {
    "zstd": CompressionType.ZSTD,
    "lz4": CompressionType.LZ4,
    "none": CompressionType.NONE,
}


class DefinitionNotFoundError(LookupError):
    """No ``.msg`` file for a type in any ament prefix."""


def message_definition(type_name: str) -> str:
    """The complete ``ros2msg`` definition of ``type_name`` ("pkg/msg/Type" or "pkg/Type").

    The root ``.msg`` text first, then each dependency once, depth first in sorted order, after
    a line of 80 ``=`` and ``MSG: pkg/Type``: byte for byte what rosbag2 stores.
    """
    seen: set[str] = set()
    texts: dict[str, tuple[str, list[str]]] = {}

    def load(name: str) -> tuple[str, list[str]]:
        if name not in texts:
            package, namespace, type_ = _split(name)
            text = _msg_file(package, namespace, type_).read_text()
            deps = set()
            for match in _FIELD_TYPE.finditer(text):
                dep = match.group(1)
                if dep not in _PRIMITIVES:
                    deps.add(dep if "/" in dep else f"{package}/{dep}")
            texts[name] = (text, sorted(deps))
        return texts[name]

    def append(name: str, depth: int) -> str:
        if depth <= 0:
            raise RecursionError(f"{type_name}: message definitions nest too deeply")
        text, deps = load(name)
        for dep in deps:
            if dep not in seen:
                seen.add(dep)
                text += f"\n{SEPARATOR}\nMSG: {dep}\n" + append(dep, depth - 1)
        return text

    return append(type_name, _MAX_DEPTH)


def _split(type_name: str) -> tuple[str, str, str]:
    match = _TYPE_NAME.match(type_name)
    if not match:
        raise ValueError(f"{type_name!r}: expected a type name like 'std_msgs/msg/String'")
    return match.group(1), match.group(2) or "msg", match.group(3)


def _msg_file(package: str, namespace: str, type_: str) -> Path:
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        share = Path(get_package_share_directory(package))
    except (PackageNotFoundError, LookupError, KeyError) as e:
        prefixes = os.environ.get("AMENT_PREFIX_PATH", "")
        raise DefinitionNotFoundError(
            f"{package}/{namespace}/{type_}: package {package!r} is not in the ament index "
            f"(AMENT_PREFIX_PATH={prefixes!r})"
        ) from e
    path = share / namespace / f"{type_}.msg"
    if not path.is_file():
        raise DefinitionNotFoundError(f"{package}/{namespace}/{type_}: no {path}")
    return path


class _DirectFile:
    """A file written with ``os.write``: each record group reaches the OS as soon as it is made.

    ``mcap.Writer`` wraps raw files in a ``BufferedWriter``, which would hold finished chunks in
    the process, where ``kill -9`` loses them.
    """

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        self.position = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        """Nothing is buffered here."""

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


class McapRecorder:
    """Appends serialized (CDR) messages to a new MCAP file, one channel per topic.

    Not thread-safe: call from one thread (the recorder node's executor).
    """

    def __init__(
        self,
        path: str | Path,
        chunk_size: int = 1 << 20,
        flush_interval: float = 2.0,
        compression: str = "zstd",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        if compression not in _COMPRESSION:
            raise ValueError(f"compression: expected one of {sorted(_COMPRESSION)}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_interval = flush_interval
        self.messages = 0
        self._file = _DirectFile(self.path)  # O_EXCL: never overwrite an earlier recording
        self._writer = Writer(
            self._file, chunk_size=chunk_size, compression=_COMPRESSION[compression]
        )
        self._writer.start(profile=PROFILE, library="supersize_grasp recorder (mcap-python)")
        if metadata:
            self._writer.add_metadata("supersize_grasp", dict(metadata))
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._chunk_started: float | None = None  # monotonic time of the oldest unwritten message
        self._closed = False

    def add_topic(
        self,
        topic: str,
        type_name: str,
        definition: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        """Declare a topic before its first message; ``definition`` defaults to the ament one.

        ``metadata`` is rosbag2's channel metadata (``offered_qos_profiles``, ``topic_type_hash``).
        """
        if topic in self._channels:
            raise ValueError(f"topic {topic!r} is already recorded")
        package, namespace, type_ = _split(type_name)
        full_name = f"{package}/{namespace}/{type_}"
        if full_name not in self._schemas:
            text = message_definition(full_name) if definition is None else definition
            self._schemas[full_name] = self._writer.register_schema(
                full_name, SCHEMA_ENCODING, text.encode()
            )
        self._channels[topic] = self._writer.register_channel(
            topic, MESSAGE_ENCODING, self._schemas[full_name], dict(metadata or {})
        )

    def write(
        self, topic: str, data: bytes, log_time_ns: int, publish_time_ns: int | None = None
    ) -> None:
        """Append one serialized message of a declared topic."""
        channel = self._channels.get(topic)
        if channel is None:
            raise KeyError(f"topic {topic!r} was not declared with add_topic")
        before = self._file.position
        self._writer.add_message(
            channel_id=channel,
            log_time=log_time_ns,
            data=bytes(data),
            publish_time=log_time_ns if publish_time_ns is None else publish_time_ns,
            sequence=self.messages,
        )
        self.messages += 1
        if self._file.position != before:  # the writer just finished a full chunk
            self._chunk_started = None
        elif self._chunk_started is None:
            self._chunk_started = time.monotonic()
        self.flush_if_due()

    def flush_if_due(self) -> bool:
        """Finish the open chunk once its oldest message waited ``flush_interval``; for a timer."""
        if self._chunk_started is None or self._closed:
            return False
        if time.monotonic() - self._chunk_started < self.flush_interval:
            return False
        self.flush()
        return True

    def flush(self) -> None:
        """Finish the open chunk now: it is on disk (page cache) when this returns."""
        self._writer.flush()
        self._chunk_started = None

    def close(self) -> None:
        """Finish the file: last chunk, summary, indexes and footer; then fsync."""
        if self._closed:
            return
        self._closed = True
        self._writer.finish()
        self._file.close()

    def __enter__(self) -> McapRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_messages(path: str | Path) -> Iterator[tuple[Schema | None, Channel, Message]]:
    """Every message in file order, also from an unfinished file (stops at a cut-off record)."""
    schemas: dict[int, Schema] = {}
    channels: dict[int, Channel] = {}
    with open(path, "rb") as f:
        records = StreamReader(f, validate_crcs=True).records
        while True:
            try:
                record = next(records)
            except StopIteration:
                return
            except (McapError, EOFError, ValueError):  # the record a crash cut off, and after it
                return
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Message) and record.channel_id in channels:
                channel = channels[record.channel_id]
                yield schemas.get(channel.schema_id), channel, record


def is_finished(path: str | Path) -> bool:
    """Whether the file ends with the MCAP footer magic (closed cleanly, or recovered)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() < 16:
            return False
        f.seek(-8, os.SEEK_END)
        return f.read(8) == b"\x89MCAP0\r\n"


def recover(path: str | Path) -> int:
    """Rewrite an unfinished recording in place as a finished one; returns the messages kept.

    Channels that never got a message in a finished chunk are not carried over.

    The copy goes to a temporary name, is fsynced and renamed over the original, so a crash
    during recovery leaves the original untouched.
    """
    source = Path(path)
    tmp = source.with_name(f".{source.name}.{secrets.token_hex(4)}.tmp")
    out = _DirectFile(tmp)
    try:
        writer = Writer(out)
        writer.start(profile=PROFILE, library="supersize_grasp recorder (recovered)")
        schema_ids: dict[int, int] = {}
        channel_ids: dict[int, int] = {}
        count = 0
        for schema, channel, message in read_messages(source):
            if channel.id not in channel_ids:
                if schema is not None and schema.id not in schema_ids:
                    schema_ids[schema.id] = writer.register_schema(
                        schema.name, schema.encoding, schema.data
                    )
                channel_ids[channel.id] = writer.register_channel(
                    channel.topic,
                    channel.message_encoding,
                    schema_ids[schema.id] if schema is not None else 0,
                    dict(channel.metadata),
                )
            writer.add_message(
                channel_ids[channel.id],
                message.log_time,
                message.data,
                message.publish_time,
                message.sequence,
            )
            count += 1
        writer.finish()
        out.close()
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(out.fd)
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, source)
    return count
