"""Train a policy on AsyncTool-v0: the script form of ``asynctool train``.

Every field of :class:`asynctool_env.rl.TrainConfig` is a flag (``--learning-rate 1e-4``,
``--net-arch 128,128``, ``--vec-env subproc``...); ``--config FILE`` reads a JSON or TOML
file first and the flags override it; ``--env-kwarg KEY=VALUE`` adds one ``AsyncTool-v0``
argument. The run folder gets SB3's progress log (stdout and ``progress.csv``), the ``dev``
evaluations, checkpoints and a compact ``policy.pt``; see ``baselines/README.md``.

Run (needs the ``rl`` extra)::

    python baselines/train.py --regime stochastic --timesteps 200000 \\
        --export asynctool_env/policies/ppo-stochastic.pt
"""

from __future__ import annotations

import argparse
import sys

from asynctool_env.rl.config import (
    ConfigError,
    TrainConfig,
    load_config,
    parse_assignments,
    parse_value,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Values are JSON when they parse (3, 1e-4, [64, 64], null), comma lists "
        "(64,64), or plain text. Documentation of each field: help(TrainConfig).",
    )
    parser.add_argument("--config", help="A JSON or TOML file of settings.")
    parser.add_argument(
        "--env-kwarg",
        action="append",
        metavar="KEY=VALUE",
        help="One AsyncTool-v0 argument (repeatable), e.g. n_tasks=2.",
    )
    parser.add_argument("--show-config", action="store_true", help="Print the config, stop.")
    for name, field in TrainConfig.model_fields.items():
        flags = [f"--{name.replace('_', '-')}"]
        if name == "total_timesteps":
            flags.append("--timesteps")
        default = field.default_factory() if field.default_factory else field.default
        parser.add_argument(
            *flags, dest=name, type=parse_value, metavar="VALUE", help=f"(default: {default})"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = vars(build_parser().parse_args(argv))
    try:
        overrides = {name: args[name] for name in TrainConfig.model_fields}
        extra = parse_assignments(args["env_kwarg"], "--env-kwarg")
        if extra:
            overrides["env_kwargs"] = {**(overrides["env_kwargs"] or {}), **extra}
        config = load_config(args["config"], overrides)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if args["show_config"]:
        print(config.model_dump_json(indent=2))
        return 0
    from asynctool_env.rl import MissingRLExtraError, require_rl

    try:
        require_rl()
    except MissingRLExtraError as error:
        print(error, file=sys.stderr)
        return 1
    from asynctool_env.rl.training import train

    result = train(config)
    print(f"policy: {result.policy_path}; log: {result.output}/progress.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
