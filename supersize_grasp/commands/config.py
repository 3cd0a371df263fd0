"""Print the effective configuration: defaults overlaid by the --config files, as commented YAML.

Save it, edit what you need, and pass it back with --config; unknown keys are errors.
"""

from supersize_grasp.config import to_yaml


def add_arguments(parser) -> None:
    parser.add_argument("--section", help="print only this section (e.g. trial)")
    parser.add_argument("--no-comments", action="store_true", help="omit field descriptions")


def run(args, config) -> int:
    if args.section:
        if args.section not in type(config).model_fields:
            sections = ", ".join(type(config).model_fields)
            print(f"unknown section {args.section!r}; sections: {sections}")
            return 2
        print(f"{args.section}:")
        text = to_yaml(getattr(config, args.section), comments=not args.no_comments)
        print("".join(f"  {line}\n" for line in text.splitlines()), end="")
    else:
        print(to_yaml(config, comments=not args.no_comments), end="")
    return 0
