#!/usr/bin/env bash
# Recompute the recorded baseline results in baselines/results/ (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
asynctool bench --output baselines/results/test --plots
asynctool ablate --agent critical_path --output baselines/results/ablation_critical_path.md
asynctool ablate --agent greedy --output baselines/results/ablation_greedy.md
rm -f baselines/results/test/episodes.jsonl  # large; regenerate with the command above
# The trained policies against the reference agents, per regime (a few minutes).
for regime in default contention stochastic; do
  case $regime in
    default) extra=() ;;
    contention) extra=(--tool-capacity 1) ;;
    stochastic) extra=(--latency stochastic) ;;
  esac
  asynctool eval -a random -a sequential -a greedy -a critical_path -a oracle -a ppo \
    --workers 2 "${extra[@]}" --output "baselines/results/rl-$regime"
  rm -f "baselines/results/rl-$regime/episodes.jsonl"
done
# Retraining the policies themselves (about 5-7 minutes each on 2 cores):
#   asynctool train --config baselines/configs/ppo-<regime>.toml
