"""Score a policy object (not only a named agent) on a dataset split, as the benchmark does.

:func:`asynctool_env.benchmark.evaluate` plays agents by name; training needs the same
scoring for the policy being trained, in memory, many times. :class:`SplitEvaluator` keeps
one env over the split's instances and the optimum of every episode it has solved, and plays
episode ``i`` on instance ``i`` with seed ``seed + i``, exactly like ``evaluate``, so its
records and :func:`~asynctool_env.benchmark.summarize` tables compare with ``asynctool eval``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from asynctool_env.agents import Policy
from asynctool_env.core.task import Instance
from asynctool_env.envs import AsyncToolEnv
from asynctool_env.results import EpisodeRecord, summarize
from asynctool_env.rollout import env_kwargs_for, play_and_record

#: Env arguments that only shape the procedural stream (meaningless on a dataset split), and
#: the training reward (evaluation returns use the default weights, comparable across agents).
PROCEDURAL_ONLY = (
    "n_tasks",
    "scenarios",
    "composition",
    "steps_per_task",
    "task_bank_seed",
    "reward_weights",
)


def eval_env_kwargs(env_kwargs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Training env arguments minus those that only shape the procedural stream or the
    training reward."""
    return {k: v for k, v in (env_kwargs or {}).items() if k not in PROCEDURAL_ONLY}


def split_instances(
    split: str, env_kwargs: Mapping[str, Any] | None = None, episodes: int | None = None
) -> list[Instance]:
    """The first ``episodes`` instances of ``split`` that the training env could have drawn:
    with ``n_tasks`` in its range and tasks that fit its ``max_tasks``/``max_steps`` padding.
    """
    from asynctool_env.dataset import load_split

    kwargs = dict(env_kwargs or {})
    n_tasks = kwargs.get("n_tasks")
    if n_tasks is None:
        low, high = 1, 10**9
    elif isinstance(n_tasks, Sequence):
        low, high = int(n_tasks[0]), int(n_tasks[1])
    else:
        low = high = int(n_tasks)
    max_tasks, max_steps = int(kwargs.get("max_tasks", 3)), int(kwargs.get("max_steps", 8))
    chosen = [
        instance
        for instance in load_split(split)
        if low <= instance.n_tasks <= min(high, max_tasks)
        and max(len(task.steps) for task in instance.tasks) <= max_steps
    ]
    if not chosen:
        raise ValueError(
            f"no {split!r} instance fits n_tasks={n_tasks!r}, max_tasks={max_tasks}, "
            f"max_steps={max_steps}"
        )
    return chosen[:episodes] if episodes is not None else chosen


class SplitEvaluator:
    """Plays policies on the first ``episodes`` instances of a split, scored like the
    benchmark (``efficiency`` against the exact optimum of each episode).

    Args:
        split: ``dev`` or ``test``.
        episodes: How many instances (``None``: all that fit ``env_kwargs``).
        env_kwargs: ``AsyncTool-v0`` arguments (a regime's, plus padding); procedural-only
            ones are dropped.
        seed: Episode ``i`` is reset with ``seed + i``.
        optimal: Compute ``optimal_rounds`` and ``efficiency`` (solved once per episode).
    """

    def __init__(
        self,
        split: str = "dev",
        episodes: int | None = None,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        optimal: bool = True,
    ) -> None:
        self.split = split
        self.instances = split_instances(split, env_kwargs, episodes)
        self.env_kwargs = eval_env_kwargs(env_kwargs)
        self.env = AsyncToolEnv(instances=self.instances, **self.env_kwargs, optimum_in_info=False)
        # Envs for agents that need another interface (a policy's ``env_kwargs``, e.g. the
        # direct action layout), keyed by those arguments; the regime stays the same.
        self._envs: dict[str, AsyncToolEnv] = {}
        self.seed = seed
        self.optimal = optimal
        # Optima by instance and realized latencies: each evaluation during training plays
        # the same episodes again, and solves them once (the envs leave them to us).
        self._optimum: dict[Any, int] = {}

    def play(self, policy: Policy, index: int, agent: str | None = None) -> EpisodeRecord:
        """Play instance ``index`` and score it."""
        return play_and_record(
            self.env_for(policy),
            policy,
            self.seed + index,
            agent=agent or getattr(policy, "name", type(policy).__name__),
            instance_index=index,
            optimal=self.optimal,
            optimum_cache=self._optimum,
        )

    def env_for(self, policy: Policy) -> AsyncToolEnv:
        """The env ``policy`` plays: this evaluator's, with the interface the policy declares
        in its ``env_kwargs`` (if any) on top."""
        kwargs = env_kwargs_for(policy, self.env_kwargs)
        if kwargs == self.env_kwargs:
            return self.env
        key = repr(sorted(kwargs.items()))
        env = self._envs.get(key)
        if env is None:
            env = self._envs[key] = AsyncToolEnv(
                instances=self.instances, **kwargs, optimum_in_info=False
            )
        return env

    def run(self, policy: Policy, agent: str | None = None) -> list[EpisodeRecord]:
        """One episode per instance."""
        return [self.play(policy, index, agent) for index in range(len(self.instances))]

    def summary(self, policy: Policy, agent: str | None = None) -> dict[str, Any]:
        """:func:`~asynctool_env.benchmark.summarize` of :meth:`run`."""
        return summarize(self.run(policy, agent))

    def close(self) -> None:
        self.env.close()
        for env in self._envs.values():
            env.close()


def evaluate_policy(
    policy: Policy,
    split: str = "dev",
    episodes: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> list[EpisodeRecord]:
    """Play ``policy`` once on each of the first ``episodes`` instances of ``split``."""
    evaluator = SplitEvaluator(split, episodes, env_kwargs, seed=seed)
    try:
        return evaluator.run(policy)
    finally:
        evaluator.close()


__all__ = [
    "PROCEDURAL_ONLY",
    "SplitEvaluator",
    "eval_env_kwargs",
    "evaluate_policy",
    "split_instances",
]
