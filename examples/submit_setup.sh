# Sourced by each scheduler's submit.sh with the study as $1 and `project` set: the study, its items (one per
# array task), the submission's tag and the Python, each checked (exit 2 with one line).
# shellcheck shell=bash
study=${1:?usage: submit.sh crashhunt|shootout}
case "$study" in
  crashhunt) items=${DEPTHS:-4 6 8} ;;
  shootout)  items=${ARMS:-control layerscale agc adamw}
             : "${CRASH_DEPTH:?the shootout needs CRASH_DEPTH=D (the crash depth of the crash hunt)}" ;;
  *) echo "submit.sh: unknown study '$study' (crashhunt or shootout)" >&2; exit 2 ;;
esac
tag=${TAG:-$study-$(date +%Y%m%d-%H%M%S)}
python=${PYTHON:-$project/.venv/bin/python}
[ -x "$python" ] || { echo "submit.sh: PYTHON=$python is not executable (run 'make install' first)" >&2; exit 2; }
