"""The py_trees_js renderer's files, read straight out of the ``py-trees-js`` wheel.

The wheel ships its JavaScript and CSS only as a compiled Qt resource (``py_trees_js/resources.py``:
``qt_resource_data``/``_name``/``_struct`` byte strings) for its PyQt demo viewer. We read those
byte strings with :mod:`ast` and walk Qt's resource format ourselves, so the browser gets the very
files the wheel was built from without PyQt5 (which the wheel declares, and we do not install).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import struct
import zlib
from pathlib import Path

__all__ = ["AssetError", "page_includes", "py_trees_js_assets", "read_qt_resources"]

_DIRECTORY, _COMPRESSED, _COMPRESSED_ZSTD = 0x02, 0x01, 0x04
_ENTRY_SIZE = {1: 14, 2: 22}  # struct entry bytes per rcc format version (v2 adds a timestamp)


class AssetError(RuntimeError):
    """The py-trees-js wheel is missing or its resource module is not what we expect."""


def read_qt_resources(source: str) -> dict[str, bytes]:
    """Every file of a PyQt5 resource module's source text, by its resource path.

    Raises:
        AssetError: the text has no resource tables, or they are inconsistent.
    """
    tables = {
        node.targets[0].id: node.value.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, bytes)
    }
    try:
        data, names = tables["qt_resource_data"], tables["qt_resource_name"]
        version = 2 if "qt_resource_struct_v2" in tables else 1
        tree = tables[f"qt_resource_struct_v{version}"]
    except KeyError as e:
        raise AssetError(f"not a Qt resource module: no {e.args[0]}") from None
    size = _ENTRY_SIZE[version]

    def name(offset: int) -> str:
        (length,) = struct.unpack_from(">H", names, offset)
        return names[offset + 6 : offset + 6 + 2 * length].decode("utf-16-be")  # skip the hash

    def walk(index: int, prefix: str, depth: int = 0):
        if depth > 32:
            raise AssetError("Qt resource tree nested too deeply")
        name_offset, flags = struct.unpack_from(">IH", tree, index * size)
        path = prefix + name(name_offset) if index else ""
        if flags & _DIRECTORY:
            count, first = struct.unpack_from(">II", tree, index * size + 6)
            for child in range(first, first + count):
                yield from walk(child, f"{path}/" if index else "", depth + 1)
            return
        if flags & _COMPRESSED_ZSTD:
            raise AssetError(f"{path}: zstd-compressed Qt resources are not supported")
        (offset,) = struct.unpack_from(">I", tree, index * size + 10)
        (length,) = struct.unpack_from(">I", data, offset)
        blob = data[offset + 4 : offset + 4 + length]
        # zlib-compressed entries start with their uncompressed size
        yield path, zlib.decompress(blob[4:]) if flags & _COMPRESSED else blob

    try:
        return dict(walk(0, ""))
    except (struct.error, zlib.error, UnicodeDecodeError) as e:
        raise AssetError(f"corrupt Qt resource tables: {e}") from e


@functools.cache
def py_trees_js_assets() -> dict[str, bytes]:
    """``js/py_trees-<version>.js``, ``js/jointjs/*``: the installed py-trees-js's files.

    Raises:
        AssetError: py-trees-js is not installed (scripts/setup.sh installs it).
    """
    spec = importlib.util.find_spec("py_trees_js")
    if spec is None or spec.origin is None:
        raise AssetError("py-trees-js is not installed: run scripts/setup.sh")
    module = Path(spec.origin).with_name("resources.py")
    try:
        source = module.read_text(encoding="utf-8")
    except OSError as e:
        raise AssetError(f"py-trees-js has no readable {module.name}: {e}") from e
    assets = read_qt_resources(source)
    if not any(path.startswith("js/py_trees-") for path in assets):
        raise AssetError(f"{module} holds no js/py_trees-*.js")
    return assets


# py_trees_js' own demo page loads them in this order (each needs those before it)
_SCRIPT_ORDER = ("dagre-", "graphlib-", "jquery-", "lodash-", "backbone-", "joint-", "py_trees-")
_STYLE_ORDER = ("joint-", "py_trees-")


def page_includes(assets: dict[str, bytes]) -> tuple[list[str], list[str]]:
    """The (scripts, stylesheets) to load, in order, by their paths in ``assets``.

    Raises:
        AssetError: one of them is missing.
    """

    def ordered(order: tuple[str, ...], suffix: str) -> list[str]:
        found = []
        for stem in order:
            matches = [p for p in assets if Path(p).name.startswith(stem) and p.endswith(suffix)]
            if not matches:
                raise AssetError(f"py-trees-js ships no {stem}*{suffix}")
            found.append(sorted(matches)[-1])
        return found

    return ordered(_SCRIPT_ORDER, ".js"), ordered(_STYLE_ORDER, ".css")
