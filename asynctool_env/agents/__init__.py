"""Reference policies, by name.

>>> sorted(POLICIES)  # doctest: +NORMALIZE_WHITESPACE
['critical_path', 'greedy', 'most_ops_remaining', 'most_work_remaining', 'oracle', 'ppo',
 'queue_aware_critical_path', 'random', 'sequential', 'shortest_latency_first']

The four dispatching rules (:class:`DispatchRulePolicy`) are the priority rules of job-shop
scheduling, beside ``critical_path``; ``asynctool bench`` runs the classic five
(:data:`asynctool_env.benchmark.REFERENCE_AGENTS`), ``asynctool eval -a NAME`` any of them.

``ppo`` is a trained policy (:class:`asynctool_env.rl.policy.PPOPolicy`): the shipped policy
of the env's regime, or ``make_policy("ppo", policy=FILE)``. It needs the ``rl`` extra
(torch). The registry names it by its entry point (``"module:Class"``), like Gymnasium's
registry, so this package does not import the trainers: the class is loaded when the policy
is made. :func:`register_policy` adds more.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from asynctool_env.agents.heuristics import (
    DISPATCH_RULES,
    CriticalPathPolicy,
    DispatchRulePolicy,
    GreedyPolicy,
    Policy,
    RandomMaskedPolicy,
    SequentialPolicy,
)
from asynctool_env.agents.oracle import OraclePolicy

#: Policy name -> factory ``(seed, **options) -> Policy``, or an entry point
#: ``"module:Class"`` whose class is made with ``**options`` when the policy is asked for.
POLICIES: dict[str, Callable[..., Policy] | str] = {
    "random": lambda seed: RandomMaskedPolicy(seed),
    "sequential": lambda seed: SequentialPolicy(),
    "greedy": lambda seed: GreedyPolicy(),
    "critical_path": lambda seed: CriticalPathPolicy(),
    "oracle": lambda seed: OraclePolicy(),
    "ppo": "asynctool_env.rl.policy:PPOPolicy",
    **{rule: (lambda seed, rule=rule: DispatchRulePolicy(rule)) for rule in DISPATCH_RULES},
}


def register_policy(name: str, factory: Callable[..., Policy] | str) -> None:
    """Make ``name`` a policy: a factory ``(seed, **options) -> Policy`` or an entry point
    ``"module:Class"`` (built as ``Class(**options)``)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"a policy name must be a non-empty string, got {name!r}")
    POLICIES[name] = factory


def make_policy(name: str, seed: int | None = None, **options: Any) -> Policy:
    """The policy called ``name``; ``options`` go to it (``policy=FILE`` for ``ppo``)."""
    try:
        factory = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}") from None
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        cls = getattr(importlib.import_module(module), attribute)
        if "policy" in options:  # the path of a policy file, by its user-facing name
            path = options.pop("policy")
            options = {**options, "path": path}
        return cls(**{key: value for key, value in options.items() if value is not None})
    if any(value is not None for value in options.values()):
        raise ValueError(f"policy {name!r} takes no options, got {sorted(options)}")
    return factory(seed)


__all__ = [
    "DISPATCH_RULES",
    "POLICIES",
    "CriticalPathPolicy",
    "DispatchRulePolicy",
    "GreedyPolicy",
    "OraclePolicy",
    "Policy",
    "RandomMaskedPolicy",
    "SequentialPolicy",
    "make_policy",
    "register_policy",
]
