#!/usr/bin/env bash
# Submit a study to Slurm as a job array of shards (one depth, or one arm, per task) and a merge job
# that runs after all of them succeeded (--dependency=afterok). Run it from anywhere:
#
#   examples/slurm/submit.sh crashhunt                      # depths 4 6 8, paper profile
#   CRASH_DEPTH=4 examples/slurm/submit.sh shootout         # arms control layerscale agc adamw at depth 4
#
# Settings (environment variables, with their defaults):
#   PROFILE=paper          the run profile (paper | quick | smoke)
#   DEPTHS="4 6 8"         crash hunt: one array task per depth
#   ARMS="control layerscale agc adamw"   shootout: one array task per arm
#   CRASH_DEPTH=           shootout: the depth (required for the shootout)
#   SEEDS=                 e.g. "20260128,20260129" (default: the fixture's seeds); N_SEEDS=K instead
#   EPOCHS=                override the profile's epochs (e.g. a short trial)
#   GPUS=auto              GPUs per task: auto = 1 where the cluster has GPU gres, else 0 (CPU runs)
#   CPUS=2  MEM=16G  TIME=04:00:00  PARTITION=   per task; PARTITION empty = the default partition
#   PYTHON=<project>/.venv/bin/python    the Python with this package installed
#   TAG=<study>-<date>     runs go to <project>/runs/slurm/TAG/shard<i>, reports to <project>/reports/slurm/TAG
# A task interrupted by preemption or its time limit checkpoints its runs and requeues itself
# (see shard.sbatch); the merge job waits for every task to finish.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
project=$(cd "$here/../.." && pwd)
. "$here/../submit_setup.sh"
gpus=${GPUS:-auto}
if [ "$gpus" = auto ]; then
  if sinfo -h -o '%G' 2>/dev/null | grep -q 'gpu'; then gpus=1; else gpus=0; fi
fi
resources=(--cpus-per-task="${CPUS:-2}" --mem="${MEM:-16G}" --time="${TIME:-04:00:00}")
[ "$gpus" != 0 ] && resources+=(--gres="gpu:$gpus")
[ -n "${PARTITION:-}" ] && resources+=(--partition="$PARTITION")
read -r -a list <<< "$items"
logs=$project/runs/slurm/$tag/logs
mkdir -p "$logs"
export PROJECT=$project PYTHON=$python STUDY=$study ITEMS="$items" PROFILE=${PROFILE:-paper} TAG=$tag \
       CRASH_DEPTH=${CRASH_DEPTH:-} SEEDS=${SEEDS:-} N_SEEDS=${N_SEEDS:-} EPOCHS=${EPOCHS:-}
array=$(sbatch --parsable --job-name="$study-$tag" --array="0-$(( ${#list[@]} - 1 ))" --chdir="$project" \
        --output="$logs/shard_%a_%j.out" --open-mode=append --requeue --signal=B:TERM@120 --export=ALL "${resources[@]}" \
        "$here/shard.sbatch")
merge=$(sbatch --parsable --job-name="merge-$tag" --dependency="afterok:${array%%;*}" --chdir="$project" \
        --output="$logs/merge_%j.out" --cpus-per-task=1 --mem=4G --time=00:20:00 --export=ALL \
        ${PARTITION:+--partition="$PARTITION"} "$here/merge.sbatch")
echo "submitted $study: array job $array (${#list[@]} tasks: $items; $gpus GPU(s) each), merge job $merge"
echo "runs: $project/runs/slurm/$tag   reports (after the merge): $project/reports/slurm/$tag   logs: $logs"
