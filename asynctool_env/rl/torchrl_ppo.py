"""PPO with TorchRL on the batched env: the fast trainer (``asynctool train --backend torchrl``).

Stable-Baselines3 steps its envs one decision at a time through Python and rebuilds its
inputs key by key; at a thousand envs that is most of a training step. This trainer keeps
the whole loop batched: :class:`AsyncToolTorchRLEnv` is a TorchRL ``EnvBase`` over
:class:`~asynctool_env.envs.vector.AsyncToolVectorEnv` (N envs stepped by compiled kernels)
that hands TorchRL one tensor of features per step (SB3's ``MultiInputPolicy`` input layout,
:class:`~asynctool_env.rl.policy.SB3Features`) and the action masks; TorchRL's
``Collector`` gathers rollouts, ``GAE`` computes advantages and ``ClipPPOLoss`` (with a
``MaskedCategorical`` actor) the loss.

The network *is* an SB3 ``MaskableMultiInputActorCriticPolicy`` (its ``mlp_extractor``,
``action_net`` and ``value_net``, fed the same features SB3 would compute), so everything
around it is the project's usual: the oracle warm start (:func:`behaviour_clone`), the
evaluator, the policy files (``algo: "maskable_ppo"``, played by ``asynctool eval -a ppo``
like any other), and the run folder (``config.json``, ``evaluations.csv``,
``training.json``, ``policy.pt``).

Run::

    asynctool train --backend torchrl --n-envs 1024 --n-steps 16 --batch-size 4096 \\
        --imitation-episodes 6000 --timesteps 200000

``benchmarks/train_speed.py`` compares it with SB3 (``DummyVecEnv`` and the batched env)
and RLlib.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict
from tensordict.nn import TensorDictModule
from torchrl.collectors import Collector
from torchrl.data import Binary, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase
from torchrl.modules import MaskedCategorical, ProbabilisticActor, ValueOperator
from torchrl.objectives import ClipPPOLoss
from torchrl.objectives.value import GAE

from asynctool_env.envs.vector import AsyncToolVectorEnv
from asynctool_env.rl.config import TrainConfig
from asynctool_env.rl.evaluation import SplitEvaluator
from asynctool_env.rl.policy import NumpyActor, policy_class, policy_kwargs

#: The rollout entries ``ClipPPOLoss`` reads (after ``GAE`` has added its own).
_LOSS_KEYS = (
    "observation",
    "action_mask",
    "action",
    "action_log_prob",
    "advantage",
    "value_target",
    "state_value",
)


class AsyncToolTorchRLEnv(EnvBase):
    """``AsyncTool-v0`` x N as a TorchRL env of batch size ``[N]``.

    Observations: ``"observation"``, the ``(N, D)`` float features of SB3's input layout,
    and ``"action_mask"`` (``(N, n_actions)`` bool). Actions: ``"action"``, one index per
    env. Partial resets (``"_reset"``, as TorchRL's collectors send for the envs that
    ended) start those envs again; env ``i`` of ``set_seed(s)`` plays seed ``s + i``, as in
    Gymnasium's vector envs, so its episodes are those of ``AsyncTool-v0`` seeded so.

    Args:
        num_envs: N.
        **env_kwargs: ``AsyncTool-v0``'s arguments.
    """

    def __init__(self, num_envs: int, procedural_bank: int | None = None, **env_kwargs: Any):
        super().__init__(batch_size=torch.Size([num_envs]))
        self.venv = AsyncToolVectorEnv(
            num_envs, optimum_in_info=False, procedural_bank=procedural_bank, **env_kwargs
        )
        features = NumpyActor.features_of(self.venv.single_observation_space)
        assert features is not None  # AsyncTool-v0's spaces are flat Boxes and Discretes
        self.features = features
        n, actions = num_envs, int(self.venv.single_action_space.n)
        self.observation_spec = Composite(
            observation=Unbounded(shape=(n, features.size), dtype=torch.float32),
            action_mask=Binary(n=actions, shape=(n, actions), dtype=torch.bool),
            shape=(n,),
        )
        self.action_spec = Categorical(actions, shape=(n,), dtype=torch.int64)
        self.reward_spec = Unbounded(shape=(n, 1), dtype=torch.float32)
        self.done_spec = Composite(
            done=Categorical(2, shape=(n, 1), dtype=torch.bool),
            terminated=Categorical(2, shape=(n, 1), dtype=torch.bool),
            truncated=Categorical(2, shape=(n, 1), dtype=torch.bool),
            shape=(n,),
        )
        self._seed: int | None = None

    def _observation(self, observation: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {
            "observation": torch.from_numpy(self.features.encode(observation)),
            "action_mask": torch.from_numpy(observation["action_mask"].astype(bool)),
        }

    def _reset(self, tensordict: TensorDict | None = None, **kwargs: Any) -> TensorDict:
        n = self.venv.num_envs
        mask = None
        if tensordict is not None and tensordict.get("_reset", None) is not None:
            mask = tensordict.get("_reset").reshape(n).numpy()
        if mask is None or mask.all() or self._seed is not None:
            observation, _ = self.venv.reset(seed=self._seed)
            self._seed = None
        else:
            observation, _ = self.venv.reset(options={"reset_mask": mask})
        flags = torch.zeros((n, 1), dtype=torch.bool)
        return TensorDict(
            {**self._observation(observation), "done": flags, "terminated": flags.clone(),
             "truncated": flags.clone()},
            batch_size=self.batch_size,
        )  # fmt: skip

    def _step(self, tensordict: TensorDict) -> TensorDict:
        actions = tensordict.get("action").numpy()
        observation, reward, terminated, truncated, _ = self.venv.step(actions)
        terminated_t = torch.from_numpy(terminated).unsqueeze(-1)
        truncated_t = torch.from_numpy(truncated).unsqueeze(-1)
        return TensorDict(
            {
                **self._observation(observation),
                "reward": torch.from_numpy(reward.astype(np.float32)).unsqueeze(-1),
                "done": terminated_t | truncated_t,
                "terminated": terminated_t,
                "truncated": truncated_t,
            },
            batch_size=self.batch_size,
        )

    def _set_seed(self, seed: int | None) -> None:
        self._seed = seed


def build_policy(config: TrainConfig, env: AsyncToolTorchRLEnv) -> Any:
    """The SB3 actor-critic this trainer optimises (its weights are a policy file's)."""
    torch.manual_seed(config.seed)
    return policy_class("maskable_ppo")(
        env.venv.single_observation_space,
        env.venv.single_action_space,
        lambda _progress: config.learning_rate,
        **policy_kwargs(config.net_arch, config.activation),
    )


class _Actor(torch.nn.Module):
    def __init__(self, policy: Any) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.policy.action_net(self.policy.mlp_extractor.forward_actor(features))


class _Critic(torch.nn.Module):
    def __init__(self, policy: Any) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.policy.value_net(self.policy.mlp_extractor.forward_critic(features))


def modules(policy: Any, env: AsyncToolTorchRLEnv) -> tuple[ProbabilisticActor, ValueOperator]:
    """TorchRL's actor (masked categorical over the policy's logits) and critic over it."""
    logits = TensorDictModule(_Actor(policy), in_keys=["observation"], out_keys=["logits"])
    actor = ProbabilisticActor(
        logits,
        in_keys={"logits": "logits", "mask": "action_mask"},
        distribution_class=MaskedCategorical,
        spec=env.action_spec,
        return_log_prob=True,
    )
    critic = ValueOperator(_Critic(policy), in_keys=["observation"])
    return actor, critic


def train_torchrl(config: TrainConfig) -> Any:
    """Train ``config`` with TorchRL's PPO on the batched env (``config.n_envs`` envs,
    ``config.n_steps`` steps each per update); the run folder and the policy files are
    those of :func:`asynctool_env.rl.training.train`, which calls this for
    ``backend="torchrl"``. Checkpoints (every ``checkpoint_freq`` steps) are
    ``checkpoints/torchrl_<steps>.pt``: the actor-critic's and the optimizer's state."""
    from asynctool_env.rl.training import evaluation_log, imitate, save_run, start_run

    config, _ = config.fitted_to_budget()
    out = start_run(config)
    env_kwargs = config.resolved_env_kwargs()
    evaluator = SplitEvaluator(config.eval_split, config.eval_episodes, env_kwargs)
    env = AsyncToolTorchRLEnv(config.n_envs, **env_kwargs)
    env.set_seed(config.seed)
    policy = build_policy(config, env)
    model = SimpleNamespace(policy=policy, observation_space=policy.observation_space)
    log = evaluation_log(config, model, evaluator, env_kwargs)
    started = time.perf_counter()
    imitation = imitate(config, model, env_kwargs) if config.imitation_episodes else None
    imitation_s = time.perf_counter() - started
    actor, critic = modules(policy, env)
    advantage = GAE(gamma=config.gamma, lmbda=config.gae_lambda, value_network=critic)
    loss_module = ClipPPOLoss(
        actor,
        critic,
        clip_epsilon=config.clip_range,
        entropy_coeff=config.ent_coef,
        critic_coeff=config.vf_coef,
        loss_critic_type="l2",
        normalize_advantage=True,
    )
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate, eps=1e-5)
    per_update = config.n_envs * config.n_steps
    updates = config.planned_timesteps() // per_update
    collector = Collector(
        env,
        actor,
        frames_per_batch=per_update,
        total_frames=updates * per_update,
        auto_register_policy_transforms=False,  # (the policy keeps no recurrent state)
    )
    learn_start = time.perf_counter()
    log.start(learn_start)
    policy.set_training_mode(False)
    if imitation is not None:
        log.evaluate(model, 0)
    steps = last_eval = last_checkpoint = 0
    try:
        for update, batch in enumerate(collector):
            steps += per_update
            policy.set_training_mode(True)
            if config.lr_schedule == "linear":
                for group in optimizer.param_groups:
                    group["lr"] = config.learning_rate * (1.0 - update / updates)
            with torch.no_grad():
                advantage(batch)
            # Only what the loss reads (not the next observations): minibatches gather less.
            flat = batch.reshape(-1).select(*_LOSS_KEYS)
            for _ in range(config.n_epochs):
                for index in torch.randperm(per_update).split(config.batch_size):
                    losses = loss_module(flat[index])
                    loss = losses["loss_objective"] + losses["loss_critic"] + losses["loss_entropy"]
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(policy.parameters(), config.max_grad_norm)
                    optimizer.step()
            policy.set_training_mode(False)
            if config.eval_freq and steps - last_eval >= config.eval_freq:
                log.evaluate(model, steps)
                last_eval = steps
            if config.checkpoint_freq and steps - last_checkpoint >= config.checkpoint_freq:
                folder = out / "checkpoints"
                folder.mkdir(exist_ok=True)
                torch.save(
                    {"policy": policy.state_dict(), "optimizer": optimizer.state_dict(),
                     "timesteps": steps, "config": config.to_json()},
                    folder / f"torchrl_{steps}.pt",
                )  # fmt: skip
                last_checkpoint = steps
    finally:
        collector.shutdown()
    if last_eval != steps or not log.evaluations:
        log.evaluate(model, steps)
    wall = time.perf_counter() - learn_start + imitation_s
    result = save_run(
        config, model, log, env_kwargs, timesteps=steps, wall=wall, imitation=imitation,
        trainer={"backend": "torchrl", "vec_env": "batched", "torchrl": _version("torchrl")},
    )  # fmt: skip
    evaluator.close()
    return result


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


__all__ = ["AsyncToolTorchRLEnv", "build_policy", "modules", "train_torchrl"]
