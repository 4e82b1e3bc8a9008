"""Parsing time of adversarial replies up to the reply limit (20,000 characters).

``parse_reply`` promises bounded time: a reply of any shape up to the limit parses in
milliseconds, so one hostile reply cannot stall the other episodes of a run. Each shape is
repeated to just under the limit and parsed; the reference is a plain prose reply of the
same length, measured in the same run.

    python benchmarks/parse_speed.py
"""

from __future__ import annotations

import time

from asynctool_env.chat.parsing import parse_reply

LIMIT = 20_000
SHAPES = {
    "prose (reference)": "The weather looks fine today, thanks. ",
    "unclosed unknown calls": "-f(\n",
    "unclosed nested brackets": "- g([{\n",
    "open strings": "x(a='\n",
    "quotes in calls": 'call("(\n',
    "unclosed blocks": "<tool_call>f(\n",
    "backticks": "`f(`\n",
    "braces": "{",
    "broken JSON objects": '{"name": "f", "arguments": {\n',
    "many small calls": "wait()\n",
}


def best_of(text: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        parse_reply(text, max_chars=LIMIT)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    reference = None
    print(f"{'shape':28} {'chars':>7} {'ms':>8} {'x prose':>8}")
    for name, unit in SHAPES.items():
        text = unit * ((LIMIT - 1) // len(unit))
        seconds = best_of(text)
        reference = reference or seconds
        print(f"{name:28} {len(text):7d} {1000 * seconds:8.2f} {seconds / reference:8.1f}")


if __name__ == "__main__":
    main()
