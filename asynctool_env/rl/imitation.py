"""Warm-starting a policy from the exact oracle (behaviour cloning), before PPO fine-tuning.

PPO from scratch learns the easy part of coordination fast (never idle, never break a
dependency) and the hard part slowly: which ready step to call first, and under contention
when to hold a call back so it does not queue ahead of a more urgent one. The env can show
what the best decision is, because the exact solver (:mod:`asynctool_env.solver`) knows the
optimal schedule of every episode. So training can start from a policy that imitates it:

1. :func:`collect_demonstrations` plays episodes of the procedural stream with
   :class:`DirectOracle` and records every ``(observation, action mask, action)``, with the
   discounted return from that point (the value target);
2. :func:`behaviour_clone` fits the SB3 policy (actor by cross-entropy on the oracle's
   actions under the same masks, critic by regression on the returns);
3. PPO then fine-tunes on the env's own reward, as usual.

The oracle plans with the realized latencies of the episode, which the policy does not see.
Under deterministic latency that is no difference; under stochastic latency the clone
learns the average of hindsight-optimal choices, which is not an online policy, and can end
below the critical-path rule. So a second teacher exists: :class:`DirectCriticalPath`, the
critical-path agent in the direct layout (it sees only what the policy sees); cloning it
starts PPO at the rule's level, and fine-tuning then looks for improvements on it.

Everything here works on ``action_mode="direct"`` envs (one action per call or answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from asynctool_env.agents.rules import ActionCodec, longest_tail_first, next_planned_call
from asynctool_env.envs.async_tool_env import AsyncToolEnv
from asynctool_env.solver import optimal_schedule_for_simulator

__all__ = [
    "TEACHERS",
    "Demonstrations",
    "DirectCriticalPath",
    "DirectOracle",
    "behaviour_clone",
    "collect_demonstrations",
]


class DirectOracle:
    """Plays the exact optimal schedule on an ``action_mode="direct"`` env.

    Each decision: answer a finished open task if there is one; else make the next call the
    schedule plans for this round (in the schedule's order); else wait.
    """

    def __init__(self, env: AsyncToolEnv) -> None:
        if env.action_mode != "direct":
            raise ValueError("DirectOracle needs an env built with action_mode='direct'")
        self.env = env
        self._plan: tuple[tuple[tuple[int, int], ...], ...] = ()
        self._called: set[tuple[int, int]] = set()

    def plan(self) -> None:
        """Solve the episode just reset (call after every ``env.reset``)."""
        assert self.env.simulator is not None
        self._plan = optimal_schedule_for_simulator(self.env.simulator).calls
        self._called = set()

    def act(self, observation: Mapping[str, np.ndarray] | None = None) -> int:
        """The next decision (the observation is not needed: the oracle reads the env)."""
        env = self.env
        simulator = env.simulator
        assert simulator is not None
        answer_base = 1 + env.max_tasks * env.max_steps
        for task in range(len(simulator.tasks)):
            if simulator.task_status[task] == 1 and simulator.all_steps_done(task):
                return answer_base + task
        if simulator.calls_left == 0:
            return 0
        call = next_planned_call(self._plan, simulator.round, self._called)
        if call is None:
            return 0
        self._called.add(call)
        return ActionCodec("direct", env.max_tasks, env.max_steps).call(*call)


class DirectCriticalPath:
    """The critical-path rule on an ``action_mode="direct"`` env, from the observation only:
    answer a finished task; else call the ready step with the longest ``step_tail`` (lowest
    task, then step, on ties); else wait."""

    def __init__(self, env: AsyncToolEnv) -> None:
        if env.action_mode != "direct":
            raise ValueError("DirectCriticalPath needs an env built with action_mode='direct'")
        self.env = env

    def plan(self) -> None:
        return None

    def act(self, observation: Mapping[str, np.ndarray]) -> int:
        env = self.env
        codec = ActionCodec("direct", env.max_tasks, env.max_steps)
        mask = observation["action_mask"]
        answers = np.flatnonzero(mask[codec.call_slice.stop :])
        if len(answers):
            return codec.answer(int(answers[0]))
        if observation["calls_left"][0] <= 0:
            return 0
        best = longest_tail_first(mask[codec.call_slice], observation["step_tail"])
        return 0 if best is None else codec.call(*divmod(best, env.max_steps))


#: Teachers by name, for ``TrainConfig.imitation_teacher``.
TEACHERS = {"oracle": DirectOracle, "critical_path": DirectCriticalPath}


@dataclass
class Demonstrations:
    """Oracle decisions: ``observations[key][i]``, ``masks[i]``, ``actions[i]``,
    ``returns[i]`` (discounted return from decision ``i`` on)."""

    observations: dict[str, np.ndarray]
    masks: np.ndarray
    actions: np.ndarray
    returns: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)


def collect_demonstrations(
    env_kwargs: Mapping[str, Any],
    episodes: int,
    *,
    seed: int = 0,
    gamma: float = 0.99,
    teacher: str = "oracle",
) -> Demonstrations:
    """Play ``episodes`` procedural episodes (seeds ``seed, seed + 1, ...``) with a teacher
    (``"oracle"`` or ``"critical_path"``, see :data:`TEACHERS`).

    ``env_kwargs`` are the training env's (``action_mode`` is forced to ``"direct"``).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    if teacher not in TEACHERS:
        raise ValueError(f"unknown teacher {teacher!r}; choose one of {', '.join(TEACHERS)}")
    env = AsyncToolEnv(**{**dict(env_kwargs), "action_mode": "direct"})
    oracle = TEACHERS[teacher](env)
    columns: dict[str, list[np.ndarray]] = {key: [] for key in env.observation_space.spaces}
    masks: list[np.ndarray] = []
    actions: list[int] = []
    returns: list[float] = []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        oracle.plan()
        rewards: list[float] = []
        while True:
            action = oracle.act(observation)
            for key, value in observation.items():
                columns[key].append(np.asarray(value))
            masks.append(observation["action_mask"].astype(bool))
            actions.append(action)
            observation, reward, terminated, truncated, _ = env.step(action)
            rewards.append(reward)
            if terminated or truncated:
                break
        running = 0.0
        tail: list[float] = []
        for reward in reversed(rewards):
            running = reward + gamma * running
            tail.append(running)
        returns.extend(reversed(tail))
    env.close()
    return Demonstrations(
        observations={key: np.stack(values) for key, values in columns.items()},
        masks=np.stack(masks),
        actions=np.asarray(actions, dtype=np.int64),
        returns=np.asarray(returns, dtype=np.float32),
    )


def _flat_features(policy: Any, observations: Mapping[str, np.ndarray]) -> Any:
    """``policy.extract_features`` of every observation at once, as a tensor (``None``
    when the policy's extractor is not SB3's plain flattening one, or features are not
    shared between actor and critic)."""
    import torch

    from asynctool_env.rl.policy import NumpyActor

    if not getattr(policy, "share_features_extractor", False):
        return None
    if NumpyActor.from_policy(policy) is None:  # a custom extractor
        return None
    encoder = NumpyActor.features_of(policy.observation_space)
    if encoder is None:
        return None
    return torch.as_tensor(encoder.encode(observations), device=policy.device)


def behaviour_clone(
    model: Any,
    demonstrations: Demonstrations,
    *,
    epochs: int = 10,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
    value_coef: float = 0.5,
    seed: int = 0,
) -> list[float]:
    """Fit ``model.policy`` (an SB3 actor-critic, maskable or not) to the demonstrations.

    Loss per batch: ``-log pi(oracle action | obs, mask) + value_coef * (V(obs) - return)^2``.
    Returns the mean loss of each epoch (it should fall).
    """
    import torch

    policy = model.policy
    policy.set_training_mode(True)
    optimizer = torch.optim.Adam(policy.parameters(), lr=learning_rate)
    generator = np.random.default_rng(seed)
    n = len(demonstrations)
    maskable = "action_masks" in policy.evaluate_actions.__code__.co_varnames
    # SB3's input features of every decision, made once (what evaluate_actions would make
    # batch by batch through its per-key preprocessing); None for a custom extractor.
    features = _flat_features(policy, demonstrations.observations)
    history: list[float] = []
    for _ in range(epochs):
        order = generator.permutation(n)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = order[start : start + batch_size]
            actions = torch.as_tensor(demonstrations.actions[batch], device=policy.device)
            targets = torch.as_tensor(demonstrations.returns[batch], device=policy.device)
            masks = demonstrations.masks[batch] if maskable else None
            if features is not None:  # evaluate_actions, from the features on
                index = torch.as_tensor(batch, device=policy.device)
                latent_pi, latent_vf = policy.mlp_extractor(features[index])
                distribution = policy._get_action_dist_from_latent(latent_pi)
                if masks is not None:
                    distribution.apply_masking(masks)
                log_prob = distribution.log_prob(actions)
                values = policy.value_net(latent_vf)
            else:
                observations, _ = policy.obs_to_tensor(
                    {key: value[batch] for key, value in demonstrations.observations.items()}
                )
                if masks is not None:
                    values, log_prob, _ = policy.evaluate_actions(
                        observations, actions, action_masks=masks
                    )
                else:
                    values, log_prob, _ = policy.evaluate_actions(observations, actions)
            loss = -log_prob.mean() + value_coef * torch.nn.functional.mse_loss(
                values.flatten(), targets
            )
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(policy.parameters(), 0.5)
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        history.append(total / n)
    policy.set_training_mode(False)
    return history
