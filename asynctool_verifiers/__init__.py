"""The verifiers environment ``asynctool-verifiers`` (its id for ``vf-eval`` and verifiers'
loaders, which import an environment by its top-level module name).

The environment itself is :mod:`asynctool_env.integrations.verifiers_env`; this module only
names its taskset and its default harness (the in-process chat harness), as verifiers'
discovery expects.
"""

from asynctool_env.integrations.verifiers_env import AsyncToolTaskset, ChatHarness

__all__ = ["AsyncToolTaskset", "ChatHarness"]
