# Shared by the recipes (sourced by recipes/*/run.sh and recipes/sweep.sh): paths, the
# environment, the experiment-dir lock and the stage runner.
#
# After option parsing a recipe sets recipe_name, exp, stage, stop_stage, force,
# invocation (and optionally stages, a list like "0-12,30-33,99"), then calls
# recipe_enter RECIPE_DIR and runs its stages with run_stage.

# abspath PATH: PATH made absolute against the directory the recipe was started in.
abspath() { if [[ $1 == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') [$recipe_name] $*" >&2; }

# recipe_enter DIR: cd there, put the repository's .venv (scripts/setup_env.sh) on PATH,
# create exp/{log,.done} and take the lock: one run at a time per experiment dir, a
# second one stops naming the holder.
recipe_enter() {
  cd "$1"
  local repo_venv="$1/../../.venv"
  [[ -x $repo_venv/bin/asr ]] && export PATH="$(cd "$repo_venv/bin" && pwd):$PATH"
  command -v asr >/dev/null || {
    echo "run.sh: 'asr' not on PATH; run 'bash scripts/setup_env.sh' and activate .venv" >&2
    exit 1
  }
  mkdir -p "$exp/log" "$exp/.done"
  exec 9>"$exp/.lock"
  if ! flock -n 9; then
    echo "run.sh: $(cd "$exp" && pwd) is in use by another run: $(cat "$exp/.lock.owner" 2>/dev/null)" >&2
    exit 1
  fi
  echo "pid $$ on $(hostname) since $(date '+%F %T'): $invocation" > "$exp/.lock.owner"
}

# selected N: whether stage N is in --stages (when given), else in --stage..--stop-stage.
selected() {
  local n=$1 range
  if [[ -z ${stages:-} ]]; then ((n >= stage && n <= stop_stage)); return; fi
  for range in ${stages//,/ }; do
    ((n >= ${range%-*} && n <= ${range#*-})) && return 0
  done
  return 1
}

# run_stage N NAME COMMAND...: run COMMAND if N is selected and not already done; the
# done marker is written last, so a killed stage runs again.
run_stage() {
  local n=$1 name=$2; shift 2
  selected "$n" || return 0
  local marker="$exp/.done/stage$n.$name"
  if [[ -f $marker && $force == false ]]; then
    log "Stage $n: $name already done ($marker); --force to redo"
    return 0
  fi
  log "Stage $n: $name"
  local start=$SECONDS
  "$@"
  printf '%s\n' "$*" > "$marker.tmp" && mv "$marker.tmp" "$marker"
  log "Stage $n: $name finished in $((SECONDS - start)) s"
}
