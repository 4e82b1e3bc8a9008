"""Training ``AsyncTool-v0`` with RLlib's PPO and action masking (``pip install
'asynctool-env[ray]' 'ray[rllib]'``; RLlib's new API stack, Ray 2.60 tested).

Action masking is not a core RLlib API: its example ``ActionMaskingTorchRLModule`` (PPO
only) needs the observation to be exactly ``Dict({"action_mask": Box(0, 1, (n,)),
"observations": <space>})``, and RLlib's ``FlattenObservations`` connector would flatten the
mask too. So :class:`RLlibAsyncToolEnv` is AsyncTool's RLlib form: the same env, its mask as
a float Box, and every other observation key concatenated into one ``observations`` Box
(registered as :data:`ENV_NAME` with ``tune.register_env``).

:func:`train_rllib` builds the PPO algorithm (locally, or on the cluster at ``address`` with
``num_env_runners`` remote samplers), trains it, and scores it on ``dev`` through the
project's own evaluation API (:class:`~asynctool_env.rl.evaluation.SplitEvaluator`) with
:class:`RLlibPolicy`, which plays the trained module greedily over the masked logits.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from asynctool_env.envs import AsyncToolEnv
from asynctool_env.rl.policy import (
    LAYOUT_KWARGS,
    POLICY_FORMAT,
    RLLIB_ALGO,
    CompactPolicy,
    PolicyFileError,
    observation_layout,
    save_policy,
    space_to_json,
)

#: The name the RLlib form of the env is registered under.
ENV_NAME = "AsyncTool-RLlib-v0"


class RLlibObservation:
    """The rule that turns a Dict observation with an ``action_mask`` into the form RLlib's
    masking module needs (one rule for the single-agent and the multi-agent env).

    ``observation_space`` is ``Dict(action_mask=Box(0, 1, (n,)), observations=Box(...))``;
    ``observations`` is every other key of ``space``, in sorted order, each flattened and
    cast to float32 (status codes stay numbers: no one-hot, unlike SB3's extractor).
    """

    def __init__(self, space: gym.spaces.Dict, n_actions: int) -> None:
        #: The keys concatenated into ``observations``, in order.
        self.keys = [key for key in sorted(space.spaces) if key != "action_mask"]
        size = sum(int(np.prod(space[key].shape)) for key in self.keys)
        self.observation_space = gym.spaces.Dict(
            {
                "action_mask": gym.spaces.Box(0.0, 1.0, (n_actions,), np.float32),
                "observations": gym.spaces.Box(-np.inf, np.inf, (size,), np.float32),
            }
        )

    def __call__(self, observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {
            "action_mask": np.asarray(observation["action_mask"], np.float32),
            "observations": np.concatenate(
                [np.asarray(observation[key], np.float32).ravel() for key in self.keys]
            ),
        }


class RLlibAsyncToolEnv(gym.Env):
    """``AsyncTool-v0`` with the observation RLlib's masking module needs (see the module
    docstring). ``config`` holds ``AsyncTool-v0`` keyword arguments (RLlib's env_config)."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.env = AsyncToolEnv(**{"optimum_in_info": False, **dict(config or {})})
        self.form = RLlibObservation(self.env.observation_space, int(self.env.action_space.n))
        self.keys = self.form.keys
        self.observation_space = self.form.observation_space
        self.action_space = gym.spaces.Discrete(int(self.env.action_space.n))

    def convert(self, observation: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """An ``AsyncTool-v0`` observation in the RLlib form."""
        return self.form(observation)

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        observation, info = self.env.reset(seed=seed, options=options)
        return self.convert(observation), info

    def step(self, action: int) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        observation, reward, terminated, truncated, info = self.env.step(int(action))
        return self.convert(observation), reward, terminated, truncated, info


#: The name the multi-agent RLlib env is registered under.
MULTI_AGENT_ENV_NAME = "AsyncTool-Multi-RLlib-v0"
#: The one policy every agent of the multi-agent env shares (parameter sharing).
SHARED_POLICY = "shared"


def rllib_parallel_env(config: Mapping[str, Any] | None = None) -> Any:
    """The multi-agent env (:class:`~asynctool_env.multi_agent.AsyncToolParallelEnv`, built
    with ``config``) with each agent's observation in the RLlib form, as a PettingZoo
    ``ParallelEnv`` (RLlib's ``ParallelPettingZooEnv`` wraps it)."""
    from pettingzoo.utils import BaseParallelWrapper

    from asynctool_env.multi_agent import AsyncToolParallelEnv

    class RLlibParallelEnv(BaseParallelWrapper):
        """Every agent's observation through one :class:`RLlibObservation` (the agents
        share their spaces, which parameter sharing needs)."""

        def __init__(self, env: AsyncToolParallelEnv) -> None:
            super().__init__(env)
            agent = env.possible_agents[0]
            self.form = RLlibObservation(
                env.observation_space(agent), int(env.action_space(agent).n)
            )

        def observation_space(self, agent: str) -> gym.spaces.Dict:
            return self.form.observation_space

        def reset(self, seed: int | None = None, options: dict | None = None) -> tuple:
            observations, infos = self.env.reset(seed=seed, options=options)
            return {a: self.form(o) for a, o in observations.items()}, infos

        def step(self, actions: Mapping[str, Any]) -> tuple:
            observations, *rest = self.env.step({a: int(x) for a, x in actions.items()})
            return ({a: self.form(o) for a, o in observations.items()}, *rest)

    return RLlibParallelEnv(AsyncToolParallelEnv(**dict(config or {})))


def register() -> None:
    """Register :class:`RLlibAsyncToolEnv` with Tune as :data:`ENV_NAME`, and the
    multi-agent env (RLlib's ``ParallelPettingZooEnv`` over :func:`rllib_parallel_env`) as
    :data:`MULTI_AGENT_ENV_NAME`."""
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.tune.registry import register_env

    register_env(ENV_NAME, lambda config: RLlibAsyncToolEnv(config))
    register_env(
        MULTI_AGENT_ENV_NAME, lambda config: ParallelPettingZooEnv(rllib_parallel_env(config))
    )


def _shared_policy(agent_id: Any, episode: Any = None, **kwargs: Any) -> str:
    return SHARED_POLICY


def ppo_config(
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    multi_agent: bool = False,
    num_env_runners: int = 0,
    train_batch_size: int = 2000,
    minibatch_size: int = 250,
    num_epochs: int = 4,
    learning_rate: float = 3e-4,
    hidden: tuple[int, ...] = (128, 128),
    seed: int = 0,
) -> Any:
    """RLlib's ``PPOConfig`` for AsyncTool with the masking module.

    Args:
        env_kwargs: The env's arguments: the regime of ``AsyncTool-v0`` (e.g.
            ``{"tool_capacity": 1}`` or ``{"latency": "stochastic"}``), or with
            ``multi_agent`` those of the multi-agent env (e.g. ``{"n_agents": 2}``).
        multi_agent: Train on the multi-agent env, every agent acting with one shared
            module (:data:`SHARED_POLICY`) through RLlib's ``ParallelPettingZooEnv``.
    """
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec
    from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
        ActionMaskingTorchRLModule,
    )

    register()
    module = RLModuleSpec(
        module_class=ActionMaskingTorchRLModule,
        model_config={"fcnet_hiddens": list(hidden), "head_fcnet_hiddens": [64]},
    )
    config = (
        PPOConfig()
        .environment(
            MULTI_AGENT_ENV_NAME if multi_agent else ENV_NAME, env_config=dict(env_kwargs or {})
        )
        .env_runners(num_env_runners=num_env_runners, num_envs_per_env_runner=1)
        .training(
            train_batch_size_per_learner=train_batch_size,
            minibatch_size=minibatch_size,
            num_epochs=num_epochs,
            lr=learning_rate,
        )
        .debugging(seed=seed)
    )
    if not multi_agent:
        return config.rl_module(rl_module_spec=module)
    return config.multi_agent(policies={SHARED_POLICY}, policy_mapping_fn=_shared_policy).rl_module(
        rl_module_spec=MultiRLModuleSpec(rl_module_specs={SHARED_POLICY: module})
    )


class RLlibPolicy:
    """A trained RLlib module as a policy of the project's evaluation API: the most likely
    allowed action of the masked logits (greedy, like the shipped SB3 policies).

    ``form`` is the env's :class:`RLlibObservation` (default: that of ``AsyncTool-v0`` built
    with ``env_kwargs``); one instance serves every agent of the multi-agent env."""

    name = "rllib_ppo"

    def __init__(
        self,
        module: Any,
        env_kwargs: Mapping[str, Any] | None = None,
        *,
        form: RLlibObservation | None = None,
    ) -> None:
        self.module = module
        self.form = form if form is not None else RLlibAsyncToolEnv(env_kwargs).form
        #: The env interface the module was trained on (evaluators build it).
        self.env_kwargs = {
            key: value for key, value in dict(env_kwargs or {}).items() if key in LAYOUT_KWARGS
        }

    def reset(self, seed: int | None = None) -> None:
        """No state between decisions."""

    def logits(self, observations: Sequence[Mapping[str, np.ndarray]]) -> np.ndarray:
        """The module's logits for a batch of (unconverted) observations, masked actions at
        RLlib's ``FLOAT_MIN``."""
        import torch
        from ray.rllib.core.columns import Columns

        converted = [self.form(observation) for observation in observations]
        batch = {
            Columns.OBS: {
                key: torch.as_tensor(np.stack([c[key] for c in converted]))
                for key in ("action_mask", "observations")
            }
        }
        with torch.no_grad():
            output = self.module.forward_inference(batch)
        return output[Columns.ACTION_DIST_INPUTS].numpy()

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        logits = self.logits([observation])[0]
        mask = np.asarray(observation["action_mask"]) > 0
        return int(np.argmax(np.where(mask, logits, -np.inf)))


def _actor_layers(module: Any) -> list[tuple[str, Any]]:
    """The actor of a PPO module (its actor encoder, then its ``pi`` head) as a list of
    ``("linear", nn.Linear)``, ``("tanh", None)``, ``("relu", None)`` in order of use."""
    from torch import nn

    encoder = module.encoder
    actor = getattr(encoder, "actor_encoder", None) or encoder
    layers: list[tuple[str, Any]] = []
    for part in (actor, module.pi):
        for leaf in part.modules():
            if any(True for _ in leaf.children()):
                continue
            if isinstance(leaf, nn.Linear):
                layers.append(("linear", leaf))
            elif isinstance(leaf, (nn.Tanh, nn.ReLU)):
                layers.append(("tanh" if isinstance(leaf, nn.Tanh) else "relu", None))
            elif not isinstance(leaf, (nn.Identity, nn.Flatten)):
                raise PolicyFileError(
                    f"cannot export a {type(leaf).__name__} layer: policy files hold linear "
                    "layers with tanh or relu"
                )
    return layers


def export_policy(
    module: Any,
    path: str | os.PathLike[str],
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    multi_agent: bool = False,
    **extra: Any,
) -> Path:
    """Write ``module``'s actor as a policy file (``.pt``, the format of the shipped SB3
    policies, ``algo: "rllib_ppo"``) that ``asynctool eval --agent ppo --policy FILE`` plays
    (``multi_agent``: a file for the multi-agent env, which :class:`CompactPolicy` plays for
    each agent).

    The file is checked before it is written: its numpy actor must give the module's own
    logits on observations of the env (else :class:`PolicyFileError`).
    """
    from asynctool_env.multi_agent import AsyncToolParallelEnv
    from asynctool_env.rl.config import regime_of
    from asynctool_env.scenarios import TOOL_CODE_SCHEME

    kwargs = dict(env_kwargs or {})
    if multi_agent:
        env: Any = AsyncToolParallelEnv(**kwargs)
        agent = env.possible_agents[0]
        space, actions = env.observation_space(agent), env.action_space(agent)
        samples = [env.reset(seed=seed)[0][agent] for seed in range(4)]
    else:
        env = AsyncToolEnv(**{"optimum_in_info": False, **kwargs})
        space, actions = env.observation_space, env.action_space
        samples = [env.reset(seed=seed)[0] for seed in range(4)]
    form = RLlibObservation(space, int(actions.n))
    layers = _actor_layers(module)
    state_dict = {}
    for index, (kind, layer) in enumerate(layers):
        if kind == "linear":
            state_dict[f"actor.{index}.weight"] = layer.weight.detach().cpu().clone()
            state_dict[f"actor.{index}.bias"] = layer.bias.detach().cpu().clone()
    widths = [int(layer.out_features) for kind, layer in layers if kind == "linear"]
    regime = None if multi_agent else regime_of(env)
    header = {
        "format": POLICY_FORMAT,
        "algo": RLLIB_ALGO,
        "layers": [kind for kind, _ in layers],
        "net_arch": widths[:-1],
        "activation": next((kind for kind, _ in layers if kind != "linear"), "tanh"),
        "input_keys": list(form.keys),
        "observation_space": observation_layout(space),
        "action_space": space_to_json(actions),
        "tool_code": TOOL_CODE_SCHEME,
        "env_kwargs": kwargs,
        "env": "multi_agent" if multi_agent else "AsyncTool-v0",
        **({"regime": regime} if regime else {}),
        **extra,
    }
    actor = CompactPolicy(header, state_dict)
    reference = RLlibPolicy(module, form=form).logits(samples)
    for sample, logits in zip(samples, reference, strict=True):
        allowed = np.asarray(sample["action_mask"]) > 0
        mine = actor._fast.logits(sample)  # an RLlib file acts through its numpy actor
        if not np.allclose(mine[allowed], logits[allowed], atol=1e-4):
            raise PolicyFileError("the exported actor does not reproduce the module's logits")
    return save_policy(path, state_dict, header)


@dataclass
class RLlibRun:
    """What :func:`train_rllib` measured."""

    iterations: int
    env_steps: int
    seconds: float
    train_returns: list[float] = field(default_factory=list)
    dev_before: dict[str, Any] = field(default_factory=dict)
    dev_after: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None
    policy_file: str | None = None

    @property
    def steps_per_second(self) -> float:
        return self.env_steps / self.seconds if self.seconds else 0.0


def evaluate_module(module: Any, env_kwargs: Mapping[str, Any] | None, episodes: int) -> dict:
    """The summary of ``module`` on the first ``episodes`` dev instances (the project's
    evaluation API, the same as for the SB3 policies)."""
    from asynctool_env.rl.evaluation import SplitEvaluator

    evaluator = SplitEvaluator("dev", episodes, env_kwargs)
    try:
        return evaluator.summary(RLlibPolicy(module, env_kwargs), agent="rllib_ppo")
    finally:
        evaluator.close()


def evaluate_team(
    choose: Any, env_kwargs: Mapping[str, Any] | None, episodes: int, *, seed: int = 0
) -> dict[str, float]:
    """A team on the first ``episodes`` dev instances of the multi-agent env (episode ``i``:
    instance ``i``, seed ``seed + i``). ``choose`` is ``(agent, observation) -> action`` or a
    mapping of agent policies (see :func:`asynctool_env.multi_agent.policies.play_episode`).

    Returns the mean team return (the agents' returns summed), the success rate (all tasks
    right), the mean rounds and the mean invalid actions per episode.
    """
    from asynctool_env.multi_agent import AsyncToolParallelEnv
    from asynctool_env.multi_agent.policies import play_episode

    env = AsyncToolParallelEnv(**{**dict(env_kwargs or {}), "split": "dev"})
    count = min(episodes, len(env._instances or []))
    totals = {"return": 0.0, "success": 0.0, "rounds": 0.0, "invalid_actions": 0.0}
    for index in range(count):
        returns, summary = play_episode(
            env, choose, seed=seed + index, options={"instance_index": index}
        )
        metrics = summary["metrics"]
        totals["return"] += sum(returns.values())
        totals["success"] += float(metrics["instance_success"])
        totals["rounds"] += float(metrics["rounds"])
        totals["invalid_actions"] += float(metrics.get("invalid_actions", 0))
    env.close()
    return {key: value / max(count, 1) for key, value in totals.items()} | {"episodes": count}


def evaluate_shared_module(
    module: Any, env_kwargs: Mapping[str, Any] | None, episodes: int
) -> dict[str, float]:
    """:func:`evaluate_team` with every agent playing ``module`` greedily."""
    policy = RLlibPolicy(module, form=rllib_parallel_env(env_kwargs).form)
    return evaluate_team(lambda agent, observation: policy.act(observation), env_kwargs, episodes)


def train_rllib(
    *,
    iterations: int = 5,
    env_kwargs: Mapping[str, Any] | None = None,
    multi_agent: bool = False,
    address: str | None = None,
    num_env_runners: int = 0,
    eval_episodes: int = 24,
    checkpoint_dir: str | None = None,
    export: str | os.PathLike[str] | None = None,
    seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None,
    **config: Any,
) -> RLlibRun:
    """Train PPO with masking for ``iterations`` iterations (on the cluster at ``address``
    with ``num_env_runners`` samplers, or locally), scoring the module on ``dev`` before and
    after.

    Args:
        env_kwargs: The env's arguments (``AsyncTool-v0``'s, or with ``multi_agent`` the
            multi-agent env's).
        multi_agent: Train one module shared by every agent of the multi-agent env; its dev
            scores are :func:`evaluate_team`'s.
        checkpoint_dir: Save an RLlib checkpoint (the whole algorithm, resumable) here.
        export: Write the trained actor as a policy file (:func:`export_policy`) here.
        progress: Called after each iteration with (iterations done, env steps so far,
            mean training return).
        config: More :func:`ppo_config` arguments (batch sizes, learning rate, ...).
    """
    from asynctool_env.distributed import connect

    if multi_agent:
        env_kwargs = dict(env_kwargs or {})
        evaluate = evaluate_shared_module
    else:
        env_kwargs = {"action_mode": "direct", **dict(env_kwargs or {})}
        evaluate = evaluate_module
    connect(address, num_cpus=2 if address in (None, "local") else None)
    algo = ppo_config(
        env_kwargs,
        multi_agent=multi_agent,
        num_env_runners=num_env_runners,
        seed=seed,
        **config,
    ).build_algo()
    try:

        def current() -> Any:
            return algo.get_module(SHARED_POLICY) if multi_agent else algo.get_module()

        before = evaluate(current(), env_kwargs, eval_episodes)
        returns, steps = [], 0
        start = time.perf_counter()
        for _ in range(iterations):
            result = algo.train()
            runners = result.get("env_runners", {})
            returns.append(float(runners.get("episode_return_mean", float("nan"))))
            sampled = result.get("num_env_steps_sampled_lifetime") or runners.get(
                "num_env_steps_sampled_lifetime"
            )
            steps = int(sampled or steps)
            if progress is not None:
                progress(len(returns), steps, returns[-1])
        seconds = time.perf_counter() - start
        after = evaluate(current(), env_kwargs, eval_episodes)
        saved = algo.save_to_path(checkpoint_dir) if checkpoint_dir else None
        exported = (
            export_policy(
                current(),
                export,
                env_kwargs,
                multi_agent=multi_agent,
                iterations=iterations,
                env_steps=steps,
                train_seconds=round(seconds, 1),
                seed=seed,
                dev_after=after,
            )
            if export is not None
            else None
        )
        return RLlibRun(
            iterations=iterations,
            env_steps=steps,
            seconds=seconds,
            train_returns=returns,
            dev_before=before,
            dev_after=after,
            checkpoint=str(saved) if saved else None,
            policy_file=str(exported) if exported else None,
        )
    finally:
        algo.stop()
