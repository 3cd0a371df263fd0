"""A test-set folder from the command line: ``--test-objects FOLDER`` (every object in it is
novel) and ``--real-size``, for ``robot-test``, ``clear-table`` and ``sim-collect``; the same as
``simulator.test_objects`` in a configuration file. With ``simulator.objects.graspable_only``
the objects whose graspability is not measured yet are measured first (once: it is cached)."""

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


def apply(args, config: Config, measure: bool = True) -> Config:
    """``config`` with the command line's test folder, checked: every object in it must load;
    with ``measure``, the graspability of its objects known (when ``graspable_only``).

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
    if test.folder is None and args.real_size:
        raise ValueError("--real-size needs --test-objects (or simulator.test_objects.folder)")
    if test.folder is not None:
        from .simulator.objects import ObjectLibrary

        ObjectLibrary.from_config(test.objects_config(config.simulator.objects), strict=True)
    if measure and config.simulator.objects.graspable_only:
        _measure_graspability(config)
    return config


def _measure_graspability(config: Config) -> None:
    """Measure the objects whose graspability is not known yet, before any world needs it."""
    from .bulk.graspability import ensure_measured

    def say(obj, lifted_at, done, total) -> None:
        if done in (1, total) or done % 50 == 0:
            print(f"graspability: {done}/{total} objects measured", flush=True)

    ensure_measured(config, on_object=say)
