"""AsyncTool as a verifiers environment, in verifiers' v1 API (``verifiers>=0.4``).

``pip install 'asynctool-env[verifiers]'`` (not beside the ``openenv`` extra: verifiers 0.4
pins ``mcp==2.0.0``, openenv 0.10 needs ``mcp<2``). The pieces are verifiers' own:

* **Taskset** (:class:`AsyncToolTaskset`): the instances of a split, one
  :class:`AsyncToolData` task each (the system prompt and the tasks as the prompt, the
  split, instance and seed).
* **Toolset** (:class:`AsyncToolToolset`): an MCP server started per rollout that plays the
  episode on ``AsyncTool-Chat-v0`` and offers the instance's tools and the meta-tools, with
  their own schemas. Each call is played by
  :meth:`AsyncToolChatEnv.call_tool <asynctool_env.chat.gym_env.AsyncToolChatEnv.call_tool>`
  (a call of a scenario tool or ``wait`` is one round; ``submit_answer`` and
  ``check_notifications`` are played in the round), and its result is the acknowledgement
  and the round's report. The server keeps the episode's return and metrics in the
  rollout's state.
* **Rewards and metrics** on the task (:class:`AsyncToolTask`): the reward is the env's
  return (weight 1); step F1, rounds, the optimum, the efficiency, dependency violations and
  invalid actions are metrics. The rollout stops when every task is answered or the round
  limit is reached.

Run it with any verifiers harness that speaks MCP: its own :class:`ChatHarness` (the
default, in-process) or verifiers' ``null``::

    import verifiers.v1 as vf
    from asynctool_env.integrations.verifiers_env import AsyncToolTasksetConfig

    env = vf.SingleAgentEnv(vf.SingleAgentEnvConfig(
        taskset=AsyncToolTasksetConfig(split="dev", indexes=[0, 1, 2]),
        agent=vf.AgentConfig(harness={"id": "asynctool-verifiers"},
                             runtime=vf.SubprocessConfig(), model="gpt-4o-mini",
                             client=vf.EvalClientConfig(base_url=..., api_key_var=...),
                             max_turns=80),
    ))
"""

from __future__ import annotations

import json
import signal
from contextlib import AsyncExitStack
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from asynctool_env.chat.gym_env import AsyncToolChatEnv
from asynctool_env.chat.meta import meta_tools
from asynctool_env.core.tools import Tool
from asynctool_env.scenarios import SCENARIOS

#: The metrics reported beside the reward (from the env's ``info["metrics"]``).
METRICS = (
    "step_f1",
    "rounds",
    "optimal_rounds",
    "efficiency",
    "dependency_violations",
    "invalid_actions",
    "task_success_rate",
    "instance_success",
)


class AsyncToolData(vf.TaskData):
    """One AsyncTool instance as a verifiers task."""

    split: str = "dev"
    instance_index: int = 0
    seed: int = 0
    env_kwargs: dict[str, Any] = Field(default_factory=dict)


class AsyncToolState(vf.State):
    """The rollout's episode, as the tool server reports it after each call."""

    episode_return: float = 0.0
    done: bool = False
    replies: int = 0
    metrics: dict[str, float] = Field(default_factory=dict)


class AsyncToolToolset(vf.Toolset[vf.ToolsetConfig, AsyncToolState]):
    """Plays one rollout's episode and offers its tools (see the module docstring)."""

    TOOL_PREFIX = None  # the tools keep their own names

    env: AsyncToolChatEnv
    tools: list[Tool]

    async def setup_task(self, task: AsyncToolData) -> None:
        self.env = AsyncToolChatEnv(split=task.split, **task.env_kwargs)
        self.env.reset(seed=task.seed, options={"instance_index": task.instance_index})
        instance = self.env.chat.instance
        assert instance is not None
        scenarios = sorted({item.scenario for item in instance.tasks})
        self.tools = [tool for name in scenarios for tool in SCENARIOS[name].tools]
        notifications = str(task.env_kwargs.get("notifications", "push"))
        self.tools += list(meta_tools(notifications).values())
        # uvicorn re-raises SIGTERM after its shutdown, before the exit stack unwinds.
        signal.signal(signal.SIGTERM, lambda *_: None)

    def register(self, mcp: Any) -> None:
        for tool in self.tools:
            mcp.add_tool(
                self._with_state(self._tool_function(tool)),
                name=tool.name,
                description=" ".join(tool.description.split()),
            )

    def _tool_function(self, tool: Tool) -> Any:
        """``tool`` as an async function with the tool's own parameters (for its schema)."""
        name = tool.name

        async def play(**arguments: Any) -> str:
            return self._play(name, arguments)

        return tool.dress(play)

    def _play(self, name: str, arguments: dict[str, Any]) -> str:
        text, done = self.env.call_tool(name, arguments)
        state = self.state
        state.episode_return = float(self.env.episode_return)
        state.done = bool(done)
        state.replies = int(self.env.decisions)
        metrics = self.env.chat.metrics() if done else {}
        state.metrics = {
            key: float(metrics[key]) for key in METRICS if metrics.get(key) is not None
        }
        return text


class AsyncToolTaskConfig(vf.TaskConfig):
    tools: vf.ToolsetConfig = vf.ToolsetConfig()


class AsyncToolTask(vf.Task[AsyncToolData, AsyncToolState, AsyncToolTaskConfig]):
    """An AsyncTool instance: its toolset, when it stops, and what it pays."""

    @classmethod
    def toolsets(cls, config: AsyncToolTaskConfig) -> list[vf.Toolset]:
        return [AsyncToolToolset(config.tools)]

    @vf.stop
    def episode_over(self, trace: vf.Trace) -> bool:
        return bool(trace.state.done)

    @vf.reward(weight=1.0)
    async def env_return(self, trace: vf.Trace) -> float:
        """The return ``AsyncTool-Chat-v0`` paid for the rollout's replies."""
        return float(trace.state.episode_return)

    @vf.metric
    async def episode(self, trace: vf.Trace) -> dict[str, float]:
        """The env's metrics at the episode's end (step F1, rounds, optimum, efficiency,
        violations, invalid actions, success), and the replies played."""
        return {**trace.state.metrics, "replies": float(trace.state.replies)}


class AsyncToolTasksetConfig(vf.TasksetConfig):
    """Which episodes: a split, its instances (default all), the seed (episode ``i`` of the
    split plays with ``seed + i``), and ``AsyncTool-Chat-v0`` settings."""

    id: str = "asynctool-verifiers"
    split: str = "dev"
    indexes: list[int] | None = None
    seed: int = 0
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    task: AsyncToolTaskConfig = AsyncToolTaskConfig()


class AsyncToolTaskset(vf.Taskset[AsyncToolTask, AsyncToolTasksetConfig]):
    """The AsyncTool split as verifiers tasks."""

    def load(self) -> list[AsyncToolTask]:
        config = self.config
        env = AsyncToolChatEnv(split=config.split, **config.env_kwargs)
        count = len(env.chat.instances)
        indexes = config.indexes if config.indexes is not None else list(range(count))
        tasks = []
        for index in indexes:
            seed = config.seed + int(index)
            _, info = env.reset(seed=seed, options={"instance_index": int(index)})
            system, user = info["messages"][0]["content"], info["messages"][1]["content"]
            data = AsyncToolData(
                id=f"{config.split}-{index}",
                prompt=user,
                system_prompt=system,
                split=config.split,
                instance_index=int(index),
                seed=seed,
                env_kwargs=dict(config.env_kwargs),
            )
            tasks.append(AsyncToolTask(data, config.task))
        return tasks


class ChatHarnessConfig(vf.HarnessConfig):
    """Settings of :class:`ChatHarness` (verifiers' own: tool timeout...)."""


class ChatHarness(vf.Harness[ChatHarnessConfig]):
    """A chat-model harness that runs its loop in-process: chat completions with the MCP
    tools, each tool call answered with a ``tool`` message, until the model stops calling
    tools or a stop condition ends the rollout. The built-in ``null`` harness does the same
    in a separate program that ``uv`` builds on first use (which needs the network); this one
    needs nothing more than the ``verifiers`` extra. Every model call goes through
    ``endpoint`` + ``secret``, as ``Harness.launch`` requires. It is the default harness of
    the ``asynctool-verifiers`` taskset (its id for verifiers' loaders)."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_MCP = True
    NEEDS_CONTAINER = False
    EXECUTES_CODE = False

    async def launch(
        self,
        ctx: Any,
        trace: Any,
        runtime: Any,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: Any,
    ) -> Any:
        import openai
        from verifiers.v1.dialects.chat import message_to_wire
        from verifiers.v1.harnesses.utils.mcp import call_mcp, connect_mcp

        system_prompt, prompt = self.resolve_prompt(data)
        messages: list[Any] = (
            [{"role": "system", "content": system_prompt}] if system_prompt else []
        )
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        else:
            messages += [message_to_wire(m) for m in prompt or []]
        client = openai.AsyncOpenAI(base_url=endpoint, api_key=secret, max_retries=0)
        servers = {
            name: {"url": url, "timeout": self.config.tool_timeout}
            for name, url in mcp_urls.items()
        }
        try:
            async with AsyncExitStack() as stack:
                tools, dispatch, sessions = (
                    await connect_mcp({"mcpServers": servers}, stack) if mcp_urls else ([], {}, {})
                )
                while True:
                    try:
                        completion = await client.chat.completions.create(
                            model=ctx.model, messages=messages, tools=tools or openai.omit
                        )
                    except openai.BadRequestError as error:  # a stop condition ended it
                        if trace.stop_condition is not None:
                            break
                        return vf.ProgramResult(exit_code=1, stdout="", stderr=str(error))
                    message = completion.choices[0].message
                    messages.append(message.model_dump(exclude_none=True))
                    if not message.tool_calls:
                        break
                    for call in message.tool_calls:
                        name = call.function.name
                        try:
                            arguments = json.loads(call.function.arguments or "{}")
                        except ValueError:
                            arguments = None
                        if not isinstance(arguments, dict):
                            content = "error: the arguments are not a JSON object"
                        elif name in dispatch:
                            content = await call_mcp(sessions, dispatch, name, arguments)
                        else:
                            content = f"error: unknown tool {name!r}"
                        messages.append(
                            {"role": "tool", "tool_call_id": call.id, "content": content}
                        )
        finally:
            await client.close()
        return vf.ProgramResult(exit_code=0, stdout="", stderr="")


__all__ = ["AsyncToolTaskset", "ChatHarness"]

if __name__ == "__main__":  # verifiers starts each rollout's tool server as this module
    AsyncToolToolset.run()
