"""``AsyncTool-Chat-v0``: the chat interface as a Gymnasium environment.

:class:`~asynctool_env.chat.env.ChatEnv` plays an episode through messages; this class gives
it Gymnasium's API and spaces, and the numeric env's rewards, so that LLM policies can be
trained on the same episodes they are scored on::

    import gymnasium as gym
    import asynctool_env  # registers AsyncTool-v0 and AsyncTool-Chat-v0

    env = gym.make("AsyncTool-Chat-v0", split="dev")
    observation, info = env.reset(seed=0)       # JSON of the opening messages
    tools = info["tools"]                        # OpenAI tool schemas of this episode
    observation, reward, terminated, truncated, info = env.step(
        'search_flights(origin="Paris", destination="Rome", date="2025-06-14")'
    )

## Spaces

* **Observation**: ``Text(max_length=200_000)`` over printable ASCII: the new messages as a
  JSON list (``ensure_ascii``). At reset, the system and user messages; after a step, the
  ``tool`` acknowledgements and the user message with what arrived. ``info["messages"]``
  holds them as dicts, and ``info["tools"]`` (at reset) the episode's tool schemas.
* **Action**: ``Text(max_length=20_000)``: the assistant's reply, text with calls (JSON,
  ``<tool_call>`` blocks, ``fn(a=1)``). An assistant message *dict* with native
  ``tool_calls`` is accepted too.

## Rewards

The numeric env's terms and weights (``reward_weights``), read off the simulator by the same
:class:`~asynctool_env.core.rewards.RewardMeter`: the same schedule played through
``AsyncTool-v0`` and through this env earns the same return. (``slip`` shaping, which
depends on when decisions are taken, is not paid here.)

## Episode end

Terminated when every task is answered, truncated after ``max_rounds`` rounds. The last
``info`` carries ``metrics`` (with the exact optimum and the efficiency) and
``task_results`` (the grader's verdict per task).

## Arguments

``split`` or ``instances``, ``latency``, ``max_calls_per_turn``, ``max_rounds``,
``tool_capacity``, ``notifications`` (``"push"`` or ``"pull"``), ``expected_delay_hints``,
``max_reply_chars`` (as :class:`~asynctool_env.chat.env.ChatEnv`), and ``reward_weights``
(as ``AsyncTool-v0``).
Reset options: ``instance_index`` or ``instance``.

## Version History

* v0: first version.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
from gymnasium import spaces

from asynctool_env.chat.env import ChatEnv
from asynctool_env.core.rewards import RewardMeter, RewardWeights
from asynctool_env.core.simulator import Simulator

#: Characters of the text spaces: printable ASCII (observations are JSON with
#: ``ensure_ascii``, so every response fits).
CHARSET = frozenset(string.printable)
MAX_OBSERVATION_CHARS = 200_000


#: Meta-tools that :meth:`AsyncToolChatEnv.call_tool` plays in the current round.
IN_ROUND_TOOLS = frozenset({"submit_answer", "check_notifications"})


def _json_arguments(arguments: Any) -> str:
    """A call's arguments as the JSON text of an OpenAI tool call (anything becomes text)."""
    try:
        return json.dumps(dict(arguments), default=str)
    except (TypeError, ValueError):
        return json.dumps(str(arguments))


def _as_text(messages: list[dict[str, Any]]) -> str:
    text = json.dumps(messages, ensure_ascii=True, sort_keys=True, default=str)
    if len(text) > MAX_OBSERVATION_CHARS:  # never in practice: responses are capped
        text = json.dumps(
            [{"role": "user", "content": "[the messages were too long; see info['messages']]"}]
        )
    return text


class AsyncToolChatEnv(gym.Env[str, str]):
    """The chat interface as a ``gymnasium.Env`` (see the module docstring)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        *,
        reward_weights: RewardWeights | Mapping[str, float] | None = None,
        render_mode: str | None = None,
        **chat_kwargs: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, "
                f"got {render_mode!r}"
            )
        if "split" not in chat_kwargs and "instances" not in chat_kwargs:
            chat_kwargs["split"] = "dev"
        self.chat = ChatEnv(**chat_kwargs)
        self.reward_weights = RewardWeights.from_any(reward_weights)
        self.render_mode = render_mode
        self.observation_space = spaces.Text(
            max_length=MAX_OBSERVATION_CHARS, min_length=0, charset=CHARSET
        )
        self.action_space = spaces.Text(
            max_length=self.chat.max_reply_chars, min_length=0, charset=CHARSET
        )
        self._meter: RewardMeter | None = None
        #: The rewards paid so far this episode, and the replies played.
        self.episode_return = 0.0
        self.decisions = 0

    @property
    def simulator(self) -> Simulator | None:
        """The episode's simulator (as ``AsyncTool-v0.simulator``): its state and trace."""
        return self.chat.simulator

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        # The chat env draws from a generator seeded like ours (the same seed, the same
        # episode as ChatEnv and as AsyncTool-v0).
        chat_seed = seed if seed is not None else int(self.np_random.integers(2**31))
        messages, info = self.chat.reset(seed=chat_seed, options=options)
        assert self.chat.simulator is not None
        self._meter = RewardMeter(self.chat.simulator, self.reward_weights)
        self.episode_return, self.decisions = 0.0, 0
        return _as_text(messages), {**info, "messages": messages, "tools": self.chat.tools}

    def step(
        self, action: str | Mapping[str, Any], *, end_turn: bool = True
    ) -> tuple[str, float, bool, bool, dict]:
        """Play one reply (one round); ``end_turn=False``: in the current round, without
        moving the clock (see :meth:`ChatEnv.step <asynctool_env.chat.env.ChatEnv.step>`)."""
        if self._meter is None:
            raise gym.error.ResetNeeded("call reset() before step()")
        try:
            messages, terminated, truncated, info = self.chat.step(action, end_turn=end_turn)
        except RuntimeError as error:
            raise gym.error.ResetNeeded(str(error)) from None
        reward = self._meter.take()
        self.episode_return += reward
        self.decisions += 1
        info = {key: value for key, value in info.items() if key != "turn"}
        info["messages"] = messages
        return _as_text(messages), float(reward), bool(terminated), bool(truncated), info

    def call_tool(self, name: str, arguments: Mapping[str, Any]) -> tuple[str, bool]:
        """Play one tool call as one reply, for frameworks whose tool loop executes a reply's
        calls one at a time and never says where a reply ends (TRL, verifiers, MCP clients).

        A call of a scenario tool, ``wait`` or ``wait_for_response`` ends the round, as a
        reply with that one call would (``max_calls_per_turn=1``); ``submit_answer`` and
        ``check_notifications``, which do not count against the cap, are played in the
        current round (:data:`IN_ROUND_TOOLS`), so an agent can answer a task and make a call
        in the same round and the optimum stays reachable.

        Returns:
            The call's result as text (the acknowledgement, then the round's report) and
            whether the episode is over. Rewards accrue as for :meth:`step`
            (:attr:`episode_return`).
        """
        simulator = self.chat.simulator
        if self._meter is None or simulator is None:
            return "error: the episode has not started", False
        if simulator.finished or simulator.round >= self.chat.max_rounds:
            return "The episode is over (every task answered, or the round limit reached).", True
        call = {
            "id": f"call_{self.decisions + 1}",
            "type": "function",
            "function": {"name": str(name), "arguments": _json_arguments(arguments)},
        }
        _, _, terminated, truncated, info = self.step(
            {"role": "assistant", "content": None, "tool_calls": [call]},
            end_turn=name not in IN_ROUND_TOOLS,
        )
        text = "\n".join(str(message.get("content") or "") for message in info["messages"])
        done = terminated or truncated
        return (text + "\nThe episode is over.") if done else text, done

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        if self.chat.simulator is None:
            raise gym.error.ResetNeeded("call reset() before render()")
        from asynctool_env import rendering

        lines = []
        for message in self.chat.messages[-6:]:
            lines.append(f"[{message.get('role')}] {str(message.get('content') or '')[:400]}")
        return "\n".join(lines) + "\n\n" + rendering.render_text(self.chat.simulator)

    def close(self) -> None:
        self._meter = None
