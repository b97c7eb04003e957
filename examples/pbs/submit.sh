#!/usr/bin/env bash
# Submit a study to PBS Pro (e.g. ALCF's Polaris) as a job array of shards (one depth, or one arm, per subjob)
# and a merge job that runs after all of them succeeded (depend=afterok on the array). Run it from anywhere:
#
#   ACCOUNT=MyProject QUEUE=debug examples/pbs/submit.sh crashhunt      # depths 4 6 8, paper profile
#   ACCOUNT=MyProject CRASH_DEPTH=4 examples/pbs/submit.sh shootout      # arms control layerscale agc adamw
#
# Settings (environment variables, with their defaults):
#   ACCOUNT=               the allocation to charge (-A; most facilities require it)
#   QUEUE=                 the queue (-q); empty = the server's default
#   PROFILE=paper  DEPTHS="4 6 8"  ARMS="control layerscale agc adamw"  CRASH_DEPTH=  SEEDS=  N_SEEDS=  EPOCHS=
#                          as for examples/slurm/submit.sh
#   NGPUS=1  NCPUS=8  WALLTIME=04:00:00  FILESYSTEMS=   per subjob (FILESYSTEMS: -l filesystems=..., e.g. home:eagle)
#   PYTHON=<project>/.venv/bin/python    the Python with this package installed (a CUDA torch on GPU nodes)
#   TAG=<study>-<date>     runs go to <project>/runs/pbs/TAG/shard<i>, reports to <project>/reports/pbs/TAG
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
project=$(cd "$here/../.." && pwd)
. "$here/../submit_setup.sh"
read -r -a list <<< "$items"
logs=$project/runs/pbs/$tag/logs
mkdir -p "$logs"
# the settings the shard body reads, passed by name (no commas in the values: PBS splits -v on them)
variables="PROJECT=$project,PYTHON=$python,STUDY=$study,ITEMS=$items,PROFILE=${PROFILE:-paper},TAG=$tag"
variables+=",CRASH_DEPTH=${CRASH_DEPTH:-},SEEDS=${SEEDS//,/ },N_SEEDS=${N_SEEDS:-},EPOCHS=${EPOCHS:-}"
common=(-v "$variables" -o "$logs" -j oe)
[ -n "${ACCOUNT:-}" ] && common+=(-A "$ACCOUNT")
[ -n "${QUEUE:-}" ] && common+=(-q "$QUEUE")
[ -n "${FILESYSTEMS:-}" ] && common+=(-l "filesystems=$FILESYSTEMS")
select="select=1:ncpus=${NCPUS:-8}"
[ "${NGPUS:-1}" != 0 ] && select+=":ngpus=${NGPUS:-1}"
array=()   # PBS arrays need two subjobs or more: one item is a plain job (its index defaults to 0)
[ "${#list[@]}" -gt 1 ] && array=(-J "0-$(( ${#list[@]} - 1 ))")
jobs=$(qsub -N "$study" "${array[@]}" -r y -l "$select" -l "walltime=${WALLTIME:-04:00:00}" "${common[@]}" \
       "$here/shard.pbs")
merge=$(qsub -N "merge" -W "depend=afterok:$jobs" -l select=1:ncpus=1 -l walltime=00:20:00 "${common[@]}" \
        "$here/merge.pbs")
echo "submitted $study: array job $jobs (${#list[@]} subjobs: $items), merge job $merge"
echo "runs: $project/runs/pbs/$tag   reports (after the merge): $project/reports/pbs/$tag   logs: $logs"
