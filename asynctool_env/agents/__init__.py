"""Reference policies, by name.

>>> sorted(POLICIES)
['critical_path', 'greedy', 'oracle', 'ppo', 'random', 'sequential']

``ppo`` is a trained policy (:class:`asynctool_env.rl.policy.PPOPolicy`): the shipped policy
of the env's regime, or the file named by ``ASYNCTOOL_PPO_POLICY``. It needs the ``rl`` extra
(torch), imported only when the policy is made.
"""

from __future__ import annotations

from collections.abc import Callable

from asynctool_env.agents.heuristics import (
    CriticalPathPolicy,
    GreedyPolicy,
    Policy,
    RandomMaskedPolicy,
    SequentialPolicy,
)
from asynctool_env.agents.oracle import OraclePolicy


def _ppo_policy(seed: int | None) -> Policy:
    from asynctool_env.rl.policy import PPOPolicy

    return PPOPolicy()


#: Policy name -> factory taking a seed.
POLICIES: dict[str, Callable[[int | None], Policy]] = {
    "random": lambda seed: RandomMaskedPolicy(seed),
    "sequential": lambda seed: SequentialPolicy(),
    "greedy": lambda seed: GreedyPolicy(),
    "critical_path": lambda seed: CriticalPathPolicy(),
    "oracle": lambda seed: OraclePolicy(),
    "ppo": _ppo_policy,
}


def make_policy(name: str, seed: int | None = None) -> Policy:
    """The reference policy called ``name``."""
    try:
        factory = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; choose one of {', '.join(POLICIES)}") from None
    return factory(seed)


__all__ = [
    "POLICIES",
    "CriticalPathPolicy",
    "GreedyPolicy",
    "OraclePolicy",
    "Policy",
    "RandomMaskedPolicy",
    "SequentialPolicy",
    "make_policy",
]
