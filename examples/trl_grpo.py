"""Train an LLM agent on AsyncTool with TRL's GRPOTrainer, through the TRL adapter.

Runs as written on a CPU after ``pip install torch==2.13.0 && pip install
'asynctool-env[trl]'``: it builds a tiny Qwen2-style model from a config (nothing is
downloaded), teaches it the tool-call format on a few scripted-oracle conversations, then runs
GRPO for a few steps with episodes played through ``AsyncTool-Chat-v0`` and the env's
return as the only reward. It prints the time per step, the reward curve and what the env
saw.

    python examples/trl_grpo.py                      # the tiny model, 4 GRPO steps
    python examples/trl_grpo.py --steps 20 --warm-start-steps 600

A real model on a GPU (the same recipe, vLLM generating the rollouts in the same process):

    pip install 'asynctool-env[trl]' vllm
    python examples/trl_grpo.py --model Qwen/Qwen2.5-0.5B-Instruct --use-vllm \\
        --warm-start-steps 0 --steps 200 --generations 8 --completion-length 2048

``--model`` takes a hub id or a local directory whose tokenizer has a chat template TRL can
parse tool calls of (Qwen2.5/Qwen3, Llama 3.1/3.2, ...).
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

from asynctool_env.integrations.trl_env import environment_factories, trl_dataset
from asynctool_env.integrations.trl_recipe import (
    RECIPE_INDEXES,
    oracle_conversations,
    tiny_model,
    train,
    warm_start,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a hub id or local directory (default: the tiny model)")
    parser.add_argument("--steps", type=int, default=4, help="GRPO steps")
    parser.add_argument("--warm-start-steps", type=int, default=300)
    parser.add_argument("--generations", type=int, default=4, help="rollouts per prompt")
    parser.add_argument("--completion-length", type=int, default=384)
    parser.add_argument("--use-vllm", action="store_true", help="generate with vLLM (GPU)")
    parser.add_argument("--output", default="runs/trl-grpo")
    args = parser.parse_args()

    def say(text: str) -> None:
        print(text, flush=True)

    if args.model is None and not args.use_vllm:
        # The recipe of the tiny model, measured (what the env saw, whether weights moved);
        # the else branch below spells out the same GRPOTrainer wiring.
        report = train(
            max_steps=args.steps,
            warm_start_steps=args.warm_start_steps,
            output_dir=args.output,
            num_generations=args.generations,
            max_completion_length=args.completion_length,
            progress=say,
        )
        print(json.dumps(report.summary(), indent=2))
        return

    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import add_response_schema

    if args.model is None:
        model, tokenizer = tiny_model()
    else:
        tokenizer = AutoTokenizer.from_pretrained(args.model, padding_side="left")
        model = AutoModelForCausalLM.from_pretrained(args.model)
        add_response_schema(tokenizer)
    if args.warm_start_steps:
        say(f"warm start: {args.warm_start_steps} supervised steps on oracle conversations")
        warm_start(
            model,
            tokenizer,
            oracle_conversations("dev", RECIPE_INDEXES),
            steps=args.warm_start_steps,
            progress=lambda done, loss: (
                say(f"  step {done}: loss {loss:.3f}") if done % 50 == 0 else None
            ),
        )
    # TRL's GRPOTrainer with the adapter: one prompt per dev instance, a class per scenario
    # set whose tools TRL offers the model, and the env's return as the only reward.
    dataset = trl_dataset("dev", indexes=RECIPE_INDEXES)
    config = GRPOConfig(
        output_dir=args.output,
        max_steps=args.steps,
        per_device_train_batch_size=2 * args.generations,
        num_generations=args.generations,
        max_completion_length=args.completion_length,
        max_tool_calling_iterations=6,
        learning_rate=1e-4,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_vllm=args.use_vllm,
        use_cpu=not args.use_vllm,
        bf16=args.use_vllm,
        **({"vllm_mode": "colocate"} if args.use_vllm else {}),
    )
    trainer = GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        args=config,
        train_dataset=dataset,
        environment_factory=environment_factories(dataset),
    )
    say(f"GRPO: {args.steps} steps")
    trainer.train()
    rewards = [entry["reward"] for entry in trainer.state.log_history if "reward" in entry]
    print("reward per step:", [round(float(value), 3) for value in rewards])


if __name__ == "__main__":
    main()
