#!/usr/bin/env bash
# One shard of a study, the same under any scheduler: the scheduler's shard script sets TASK_INDEX (the array
# index), RESTARTS (how often it was restarted) and REQUEUE (the command that puts this task back in the queue),
# and submit.sh the rest (PROJECT, PYTHON, STUDY, ITEMS, PROFILE, TAG, CRASH_DEPTH, SEEDS, N_SEEDS, EPOCHS).
# Preemption or the time limit sends SIGTERM: the runs finish their current step, write a checkpoint and the
# session exits 75; the task then requeues itself and, when it starts again, resumes every interrupted run
# from its checkpoint.
set -uo pipefail
cd "$PROJECT" || exit 2
read -r -a items <<< "$ITEMS"
item=${items[$TASK_INDEX]}
shard=$PROJECT/runs/$SCHEDULER/$TAG/shard$TASK_INDEX
selection=()
if [ "$STUDY" = crashhunt ]; then selection=(-m crashhunt --depths "$item"); else
  selection=(-m shootout --arms "$item" --crash-depth "$CRASH_DEPTH"); fi
[ -n "${SEEDS:-}" ] && selection+=(--seeds "$SEEDS")
[ -n "${N_SEEDS:-}" ] && selection+=(--n-seeds "$N_SEEDS")
[ -n "${EPOCHS:-}" ] && selection+=(--epochs "$EPOCHS")
echo "shard $TASK_INDEX ($STUDY $item, profile $PROFILE) on $(hostname), restart ${RESTARTS:-0}"
"$PYTHON" -m pytest "${selection[@]}" --profile "$PROFILE" -p no:cacheprovider \
  --runs-dir="$shard/runs" --reports-dir="$shard/reports" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM
wait "$child"; status=$?
while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done  # the trap interrupted the first wait
if [ "$status" -eq 75 ]; then
  echo "interrupted with checkpoints written: requeueing ($REQUEUE)"
  $REQUEUE
fi
exit "$status"
