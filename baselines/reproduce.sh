#!/usr/bin/env bash
# Recompute the recorded baseline results in baselines/results/ (about a minute on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
asynctool bench --output baselines/results/test --plots
asynctool ablate --agent critical_path --output baselines/results/ablation_critical_path.md
asynctool ablate --agent greedy --output baselines/results/ablation_greedy.md
rm -f baselines/results/test/episodes.jsonl  # large; regenerate with the command above
