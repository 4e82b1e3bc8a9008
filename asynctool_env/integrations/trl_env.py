"""AsyncTool for TRL's ``GRPOTrainer(environment_factory=...)``.

TRL trains on an environment *class*: ``__init__`` takes no argument, ``reset(**row)`` starts
a rollout from a dataset row (its return is appended to the prompt's last user message),
every public method with a docstring is a tool the model may call, and ``get_reward()`` scores
the rollout at its end. This module turns ``AsyncTool-Chat-v0`` into such classes; it adds no
scoring of its own (the reward is the env's return, the metrics the env's)::

    from trl import GRPOConfig, GRPOTrainer
    from asynctool_env.integrations.trl_env import environment_factories, trl_dataset

    dataset = trl_dataset("dev")                   # prompt, environment, split, instance...
    trainer = GRPOTrainer(
        model=model,
        args=GRPOConfig(...),
        train_dataset=dataset,
        environment_factory=environment_factories(dataset),
    )

Design:

* **One class per scenario set.** An instance's tools are the tools of its tasks' scenarios,
  and TRL reads a class's tools from its methods, so the tool set differs between
  instances. TRL's answer is a dict of factories, keyed by the dataset column
  ``environment``: :func:`environment_factories` builds one class per scenario set that
  occurs (``"messaging+travel"``...), and each dataset row names its set. The model sees
  only its instance's tools (one class holding all 97 tools would put every schema in every
  prompt).
* **Tools are the instance's tools, plus the meta-tools** (``wait``, ``submit_answer``, and
  in pull mode ``check_notifications`` and ``wait_for_response``), with their own schemas
  and descriptions. A call's arguments reach the env as written: a bad one is refused and
  counted there, as for any chat model.
* **A call to a tool ends the round.** TRL's tool loop runs a reply's calls one at a time
  and says nothing of where a reply ends, so each call is played by
  :meth:`AsyncToolChatEnv.call_tool <asynctool_env.chat.gym_env.AsyncToolChatEnv.call_tool>`:
  a call of a scenario tool (or ``wait``, ``wait_for_response``) is one reply, one round, as
  the env's default ``max_calls_per_turn=1``; ``submit_answer`` and ``check_notifications``
  are played in the current round. Its result is the acknowledgement (``pending``, or the
  error), then the round's report (what arrived, what is still pending, the open tasks): the
  arrivals come as the env delivers them.
* **The reward is the env's.** ``get_reward()`` is the return ``AsyncTool-Chat-v0`` paid for
  the replies played (the numeric env's terms and weights); :attr:`metrics` holds its
  metrics, the exact optimum and efficiency included. A rollout that ends (the model stops
  calling tools) before every task is answered is played to the env's truncation, as for a
  model that says nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from asynctool_env.chat.gym_env import AsyncToolChatEnv
from asynctool_env.chat.meta import meta_tools
from asynctool_env.core.task import Instance
from asynctool_env.core.tools import Tool
from asynctool_env.scenarios import SCENARIOS

#: Added to the system prompt: how rounds look through TRL's tool loop.
TRL_NOTE = (
    "\n\nHere each tool call is one round: its result is the acknowledgement, then the "
    "round's report (the responses that arrived, the calls still pending, the open tasks)."
)


def scenario_key(instance: Instance) -> str:
    """The name of the environment an instance plays in: its scenarios, sorted, joined by
    ``+`` (the ``environment`` column of :func:`trl_dataset`)."""
    return "+".join(sorted({task.scenario for task in instance.tasks}))


class AsyncToolTRLEnv:
    """One rollout's AsyncTool episode, for TRL (see the module docstring).

    Subclasses made by :func:`environment_class` carry the tools as methods; this base class
    holds the episode. Construct once, reset often: TRL pools instances and resets them.
    """

    #: The scenarios whose tools this class offers.
    scenarios: ClassVar[tuple[str, ...]] = ()
    #: ``AsyncTool-Chat-v0`` keyword arguments (latency, tool_capacity, notifications...).
    env_kwargs: ClassVar[Mapping[str, Any]] = {}

    def __init__(self) -> None:
        self._envs: dict[str, AsyncToolChatEnv] = {}
        self.env: AsyncToolChatEnv | None = None
        self.done = False

    def reset(
        self,
        split: str = "dev",
        instance_index: int = 0,
        seed: int | None = None,
        **columns: Any,
    ) -> str:
        """Start the episode of a dataset row; returns its tasks (the opening user message).

        Args:
            split: The split of the row's instance.
            instance_index: The instance's index in the split.
            seed: The episode seed (latency draws).
            columns: The row's other columns (``prompt``...), unused.
        """
        env = self._envs.get(split)
        if env is None:
            env = self._envs[split] = AsyncToolChatEnv(split=split, **dict(self.env_kwargs))
        _, info = env.reset(seed=seed, options={"instance_index": int(instance_index)})
        instance = env.chat.instance
        assert instance is not None
        missing = sorted({task.scenario for task in instance.tasks} - set(self.scenarios))
        if missing:
            raise ValueError(
                f"instance {instance_index} of {split!r} uses scenarios {missing} that "
                f"{type(self).__name__} does not offer: route the row by its 'environment' "
                f"column ({scenario_key(instance)!r})"
            )
        self.env, self.done = env, False
        return str(info["messages"][-1]["content"])

    def get_reward(self) -> float:
        """The return ``AsyncTool-Chat-v0`` paid for this rollout's episode.

        TRL ends a rollout when the model stops calling tools. An episode still open then is
        played to its end as the env ends it for a model that says nothing more: the clock
        runs to ``max_rounds`` (truncation), paying its rounds. So stopping early never pays
        more than finishing, and the return ranks rollouts as the metrics do.
        """
        env = self.env
        if env is None:
            return 0.0
        while not self.done:
            _, self.done = env.call_tool("wait", {"rounds": env.chat.max_rounds})
        return float(env.episode_return)

    @property
    def metrics(self) -> dict[str, Any]:
        """The episode's metrics so far (the env's, with the exact optimum)."""
        if self.env is None:
            return {}
        return self.env.chat.metrics()

    def _play(self, name: str, arguments: Mapping[str, Any]) -> str:
        """Play one call (:meth:`AsyncToolChatEnv.call_tool`); its result as the tool's."""
        if self.env is None:
            return "error: the episode has not started"
        text, self.done = self.env.call_tool(name, arguments)
        return text


def _tool_method(tool: Tool) -> Any:
    """``tool`` as a method TRL (and transformers' ``get_json_schema``) reads as a tool: its
    name, its arguments with their types, a Google-style docstring from its schema."""
    name = tool.name

    def method(self: AsyncToolTRLEnv, **arguments: Any) -> str:
        return self._play(name, arguments)

    return tool.dress(method, method=True)


def environment_class(scenarios: Iterable[str], **env_kwargs: Any) -> type[AsyncToolTRLEnv]:
    """The TRL environment class offering the tools of ``scenarios`` (and the meta-tools of
    the notification mode in ``env_kwargs``); ``env_kwargs`` go to ``AsyncTool-Chat-v0``."""
    names = tuple(sorted(set(scenarios)))
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise ValueError(f"unknown scenario(s) {unknown}; known: {', '.join(sorted(SCENARIOS))}")
    tools = [tool for name in names for tool in SCENARIOS[name].tools]
    tools += meta_tools(str(env_kwargs.get("notifications", "push"))).values()
    members: dict[str, Any] = {tool.name: _tool_method(tool) for tool in tools}
    members.update(
        scenarios=names,
        env_kwargs=dict(env_kwargs),
        __doc__=f"AsyncTool episodes over the {', '.join(names)} tools, for TRL.",
    )
    return type("AsyncTool_" + "_".join(names), (AsyncToolTRLEnv,), members)


def _instances(split: str, indexes: Sequence[int] | None) -> list[tuple[int, Instance]]:
    from asynctool_env.dataset import load_split

    instances = load_split(split)
    chosen = range(len(instances)) if indexes is None else indexes
    return [(int(index), instances[int(index)]) for index in chosen]


def system_prompt(**env_kwargs: Any) -> str:
    """The system prompt of ``AsyncTool-Chat-v0`` with ``env_kwargs``, plus :data:`TRL_NOTE`."""
    env = AsyncToolChatEnv(split="dev", **env_kwargs)
    _, info = env.reset(seed=0, options={"instance_index": 0})
    return str(info["messages"][0]["content"]) + TRL_NOTE


def trl_rows(
    split: str = "dev",
    *,
    indexes: Sequence[int] | None = None,
    seed: int = 0,
    **env_kwargs: Any,
) -> list[dict[str, Any]]:
    """The rows of :func:`trl_dataset` as dicts: ``prompt`` (the system prompt and an empty
    user message that ``reset`` fills with the tasks), ``environment`` (the scenario set),
    ``split``, ``instance_index`` and ``seed`` (``seed + index``, as every evaluation)."""
    prompt = system_prompt(**env_kwargs)
    return [
        {
            "prompt": [
                {"role": "system", "content": prompt},
                {"role": "user", "content": ""},
            ],
            "environment": scenario_key(instance),
            "split": split,
            "instance_index": index,
            "seed": seed + index,
        }
        for index, instance in _instances(split, indexes)
    ]


def trl_dataset(
    split: str = "dev",
    *,
    indexes: Sequence[int] | None = None,
    seed: int = 0,
    **env_kwargs: Any,
) -> Any:
    """A ``datasets.Dataset`` of :func:`trl_rows` for ``GRPOTrainer(train_dataset=...)``."""
    from datasets import Dataset

    return Dataset.from_list(trl_rows(split, indexes=indexes, seed=seed, **env_kwargs))


def environment_factories(
    rows: Iterable[Mapping[str, Any]], **env_kwargs: Any
) -> dict[str, type[AsyncToolTRLEnv]]:
    """``{environment: class}`` for every scenario set named by ``rows`` (a dataset made by
    :func:`trl_dataset` with the same ``env_kwargs``): TRL's ``environment_factory``."""
    keys = sorted({str(row["environment"]) for row in rows})
    return {key: environment_class(key.split("+"), **env_kwargs) for key in keys}
