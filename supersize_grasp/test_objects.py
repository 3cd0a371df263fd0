"""A test-set folder from the command line: ``--test-objects FOLDER`` (every object in it is
novel) and ``--real-size``, for ``robot-test``, ``clear-table`` and ``sim-collect``; the same as
``simulator.test_objects`` in a configuration file."""

from __future__ import annotations

from pathlib import Path

from .config import Config, overlay


def add_arguments(parser) -> None:
    parser.add_argument(
        "--test-objects",
        type=Path,
        metavar="FOLDER",
        help="URDF/MJCF/OBJ/STL folder whose objects are all the novel (test) set "
        "(simulator.test_objects.folder)",
    )
    parser.add_argument(
        "--real-size",
        action="store_true",
        help="test objects keep their files' sizes in metres (simulator.test_objects.real_size)",
    )


def apply(args, config: Config) -> Config:
    """``config`` with the command line's test folder, checked: every object in it must load.

    Raises:
        ValueError: naming the folder, or the files in it that cannot be used.
    """
    overrides = {}
    if args.test_objects is not None:
        overrides["simulator.test_objects.folder"] = str(args.test_objects)
    if args.real_size:
        overrides["simulator.test_objects.real_size"] = True
    config = overlay(config, overrides, "<command line>") if overrides else config
    test = config.simulator.test_objects
    if test.folder is None:
        if args.real_size:
            raise ValueError("--real-size needs --test-objects (or simulator.test_objects.folder)")
        return config
    from .simulator.objects import ObjectLibrary

    ObjectLibrary.from_config(test.objects_config(config.simulator.objects), strict=True)
    return config
