"""A small end-to-end GRPO recipe on AsyncTool with TRL, that runs on a laptop CPU.

Three steps, each a function, wired together by :func:`train` (and by
``examples/trl_grpo.py``, which adds the GPU/vLLM variant):

1. **A model.** :func:`tiny_model` builds a few-layer Qwen2-style causal LM from a
   ``transformers`` config, with a byte-level BPE tokenizer trained here on AsyncTool's own
   text (nothing is downloaded) and the Qwen2.5 chat template TRL ships, whose tool-call
   format TRL knows how to parse. Any local Hugging Face model directory works instead
   (``--model PATH``).
2. **A warm start.** A random model never writes a well-formed tool call, so every rollout
   would score the same and GRPO would have nothing to compare. :func:`warm_start` teaches the
   format by supervised steps on conversations of the scripted oracle played through the TRL
   adapter (:func:`oracle_conversations`): the same tools, results and rounds the model will
   meet.
3. **GRPO through the adapter.** :func:`grpo_trainer` builds TRL's ``GRPOTrainer`` with the
   adapter's dataset and environment factories
   (:mod:`asynctool_env.integrations.trl_env`): episodes are played through
   ``AsyncTool-Chat-v0``, and the reward is the env's return (``get_reward``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from asynctool_env.integrations.trl_env import (
    environment_factories,
    system_prompt,
    trl_dataset,
    trl_rows,
)

#: The dev instances the recipe trains on: the eight with the fewest tools (one scenario each,
#: 6-8 tools), so that prompts stay short enough for a CPU.
RECIPE_INDEXES = (18, 5, 15, 22, 37, 41, 56, 7)

#: Special tokens of the Qwen2.5 chat template.
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
)


def _corpus(split: str = "dev") -> Iterator[str]:
    """Text the tokenizer is trained on: the prompt, the tool schemas, the tasks, the gold
    calls and responses, as the model will see them."""
    from asynctool_env.dataset import load_split
    from asynctool_env.scenarios import TOOLS

    yield system_prompt()
    for tool in TOOLS.values():
        yield json.dumps(tool.openai_schema())
    for instance in load_split(split):
        for task in instance.tasks:
            yield task.instruction
            for step in task.steps:
                yield json.dumps({"name": step.tool, "arguments": step.expected_arguments})
                yield json.dumps(step.expected_response)


def tiny_tokenizer(
    vocab_size: int = 8192, split: str = "dev", *, tool_schemas: bool = False
) -> Any:
    """A byte-level BPE tokenizer trained on AsyncTool's text, with the Qwen2.5 chat template
    (the one TRL parses tool calls of) and TRL's parser of its tool calls.

    ``tool_schemas=False`` (the tiny model's default) renders the template without its tool
    schemas block: a two-layer model cannot read schemas, and they would triple the prompt
    on a CPU. The tool names are single tokens, learnt in the warm start. A real model keeps
    its own template, schemas included.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast
    from trl.chat_template_utils import add_response_schema, qwen2_5_chat_template

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_corpus(split), trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        padding_side="left",
    )
    # Tool names as whole tokens: the model picks a tool in one step, as it picks a word.
    from asynctool_env.chat.meta import meta_tools
    from asynctool_env.scenarios import TOOLS

    wrapped.add_tokens(sorted(set(TOOLS) | set(meta_tools("pull"))))
    wrapped.chat_template = qwen2_5_chat_template
    add_response_schema(wrapped)  # how TRL reads the model's tool calls
    if not tool_schemas:
        wrapped.chat_template = qwen2_5_chat_template.replace(
            "{%- if tools %}", "{%- if false %}", 1
        )
    return wrapped


def tiny_model(
    *, layers: int = 2, hidden: int = 128, vocab_size: int = 8192, seed: int = 0
) -> tuple[Any, Any]:
    """``(model, tokenizer)``: a ``layers``-layer Qwen2 causal LM of width ``hidden`` built from
    a config (random weights) and :func:`tiny_tokenizer`."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tokenizer = tiny_tokenizer(vocab_size)
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def oracle_conversations(
    split: str = "dev", indexes: Sequence[int] | None = None, **env_kwargs: Any
) -> list[dict[str, Any]]:
    """The scripted oracle played through the TRL adapter, as chat conversations: per
    instance ``{"messages": [...], "tools": [...], "reward": r}``, in the format TRL's tool
    loop builds (one tool call per assistant message, each followed by its tool result)."""
    from asynctool_env.chat.scripted import ScriptedOracle

    rows = trl_rows(split, indexes=indexes, **env_kwargs)
    classes = environment_factories(rows, **env_kwargs)
    conversations = []
    for row in rows:
        env = classes[row["environment"]]()
        messages = [row["prompt"][0], {"role": "user", "content": env.reset(**row)}]
        assert env.env is not None
        oracle = ScriptedOracle(env.env.chat)
        while not env.done:
            for name, arguments in oracle.turn():
                result = getattr(env, name)(**arguments)
                function = {"name": name, "arguments": arguments}
                messages.append(
                    {
                        "role": "assistant",
                        "content": "",
                        "tool_calls": [{"type": "function", "function": function}],
                    }
                )
                messages.append({"role": "tool", "name": name, "content": result})
                if env.done:
                    break
        tools = [getattr(env, name) for name in sorted(_tool_names(type(env)))]
        conversations.append({"messages": messages, "tools": tools, "reward": env.get_reward()})
    return conversations


def _tool_names(cls: type) -> list[str]:
    return [
        name
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_") and name not in ("reset", "get_reward")
    ]


def warm_start(
    model: Any,
    tokenizer: Any,
    conversations: Sequence[dict[str, Any]],
    *,
    steps: int = 300,
    learning_rate: float = 3e-3,
    max_tokens: int = 8192,
    seed: int = 0,
    assistant_only: bool = True,
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Supervised steps on ``conversations`` (the loss on the assistant turns only); returns
    the loss per step. Teaches the tool-call format, not the schedule. ``progress`` is
    called after each step with (steps done, loss)."""
    import torch

    torch.manual_seed(seed)
    examples = []
    for conversation in conversations:
        encoded = tokenizer.apply_chat_template(
            conversation["messages"],
            tools=conversation["tools"],
            tokenize=True,
            return_dict=True,
        )
        ids = list(encoded["input_ids"])[:max_tokens]
        labels = _assistant_labels(ids, tokenizer) if assistant_only else list(ids)
        if any(label != -100 for label in labels):  # a cut conversation may keep no turn
            examples.append((torch.tensor([ids]), torch.tensor([labels])))
    if not examples:
        raise ValueError(f"no assistant turn fits in {max_tokens} tokens")
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    model.train()
    losses = []
    for step in range(steps):
        ids, labels = examples[step % len(examples)]
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(float(loss.detach()))
        if progress is not None:
            progress(step + 1, losses[-1])
    model.eval()
    return losses


def _assistant_labels(ids: Sequence[int], tokenizer: Any) -> list[int]:
    """Labels that keep the tokens of assistant turns (after ``<|im_start|>assistant\\n`` up to
    and including ``<|im_end|>``) and mask the rest with -100."""
    start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    header = tokenizer.encode("assistant\n", add_special_tokens=False)
    labels = [-100] * len(ids)
    inside = False
    index = 0
    while index < len(ids):
        if ids[index] == start and list(ids[index + 1 : index + 1 + len(header)]) == header:
            inside = True
            index += 1 + len(header)
            continue
        if inside:
            labels[index] = ids[index]
            if ids[index] == end:
                inside = False
        index += 1
    return labels


@dataclass
class RunReport:
    """What a recipe run measured."""

    steps: int
    seconds_per_step: float
    rewards: list[float] = field(default_factory=list)
    env_episodes: int = 0
    env_replies: int = 0
    env_rewards: list[float] = field(default_factory=list)
    weights_changed: bool = False
    warm_start_losses: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The numbers to record: time per step, the reward curve, what the env saw."""
        losses = self.warm_start_losses
        return {
            "grpo_steps": self.steps,
            "seconds_per_step": round(self.seconds_per_step, 2),
            "reward_per_step": [round(value, 3) for value in self.rewards],
            "env_episodes": self.env_episodes,
            "env_replies": self.env_replies,
            "env_reward_mean": round(sum(self.env_rewards) / max(len(self.env_rewards), 1), 3),
            "weights_changed": self.weights_changed,
            "warm_start_loss": [round(losses[0], 2), round(losses[-1], 2)] if losses else [],
        }


def grpo_trainer(
    model: Any,
    tokenizer: Any,
    *,
    split: str = "dev",
    indexes: Sequence[int] | None = None,
    output_dir: str = "runs/trl-grpo",
    max_steps: int = 4,
    num_generations: int = 4,
    prompts_per_step: int = 2,
    max_completion_length: int = 384,
    max_tool_calling_iterations: int = 6,
    learning_rate: float = 1e-4,
    use_vllm: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    **config: Any,
) -> Any:
    """TRL's ``GRPOTrainer`` on AsyncTool through the adapter: the dataset of ``split``
    (``indexes``), one environment class per scenario set, the env's reward only."""
    from trl import GRPOConfig, GRPOTrainer

    env_kwargs = dict(env_kwargs or {})
    dataset = trl_dataset(split, indexes=indexes, **env_kwargs)
    args = GRPOConfig(
        output_dir=output_dir,
        max_steps=max_steps,
        per_device_train_batch_size=num_generations * prompts_per_step,
        num_generations=num_generations,
        max_completion_length=max_completion_length,
        max_tool_calling_iterations=max_tool_calling_iterations,
        learning_rate=learning_rate,
        temperature=1.0,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_vllm=use_vllm,
        use_cpu=not use_vllm,
        bf16=use_vllm,
        seed=0,
        **config,
    )
    return GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        args=args,
        train_dataset=dataset,
        environment_factory=environment_factories(dataset, **env_kwargs),
    )


class _Counting:
    """Counts the episodes, replies and rewards the adapter's envs produce (a test probe)."""

    def __init__(self) -> None:
        self.episodes = 0
        self.replies = 0
        self.rewards: list[float] = []


def train(
    *,
    max_steps: int = 4,
    warm_start_steps: int = 300,
    indexes: Sequence[int] = RECIPE_INDEXES,
    output_dir: str = "runs/trl-grpo",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    **grpo: Any,
) -> RunReport:
    """The whole recipe on the tiny model: build, warm-start, GRPO for ``max_steps`` steps.
    Returns what it measured (per-step time and reward, episodes played through the env, the
    env's own rewards, whether the weights changed)."""
    import torch

    from asynctool_env.integrations import trl_env

    say = progress or (lambda text: None)
    model, tokenizer = tiny_model(seed=seed)
    every = max(1, warm_start_steps // 10)

    def warm(done: int, loss: float) -> None:
        if done % every == 0 or done == warm_start_steps:
            say(f"warm start: step {done}/{warm_start_steps}, loss {loss:.3f}")

    say(f"warm start: {warm_start_steps} supervised steps on oracle conversations")
    losses = warm_start(
        model,
        tokenizer,
        oracle_conversations("dev", indexes),
        steps=warm_start_steps,
        seed=seed,
        progress=warm,
    )
    say(f"GRPO: {max_steps} steps, episodes played through AsyncTool-Chat-v0")
    probe = _Counting()
    original_reset, original_reward = (
        trl_env.AsyncToolTRLEnv.reset,
        trl_env.AsyncToolTRLEnv.get_reward,
    )

    def counted_reset(self: Any, *args: Any, **kwargs: Any) -> str:
        probe.episodes += 1
        return original_reset(self, *args, **kwargs)

    def counted_reward(self: Any) -> float:
        value = original_reward(self)
        probe.rewards.append(value)
        probe.replies += self.env.decisions if self.env is not None else 0
        return value

    trainer = grpo_trainer(
        model, tokenizer, indexes=indexes, output_dir=output_dir, max_steps=max_steps, **grpo
    )
    before = {name: tensor.detach().clone() for name, tensor in model.named_parameters()}
    trl_env.AsyncToolTRLEnv.reset = counted_reset  # type: ignore[method-assign]
    trl_env.AsyncToolTRLEnv.get_reward = counted_reward  # type: ignore[method-assign]
    try:
        start = time.perf_counter()
        trainer.train()
        elapsed = time.perf_counter() - start
    finally:
        trl_env.AsyncToolTRLEnv.reset = original_reset  # type: ignore[method-assign]
        trl_env.AsyncToolTRLEnv.get_reward = original_reward  # type: ignore[method-assign]
    changed = any(
        not torch.equal(before[name], tensor.detach()) for name, tensor in model.named_parameters()
    )
    rewards = [float(entry["reward"]) for entry in trainer.state.log_history if "reward" in entry]
    return RunReport(
        steps=max_steps,
        seconds_per_step=elapsed / max_steps,
        rewards=rewards,
        env_episodes=probe.episodes,
        env_replies=probe.replies,
        env_rewards=probe.rewards,
        weights_changed=changed,
        warm_start_losses=losses,
    )
