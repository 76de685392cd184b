#!/usr/bin/env bash
# Data-size sweep: the same systems trained on growing amounts of data, one WER table.
#
#   recipes/sweep.sh --corpus an4 [--fractions "25 50 100"] [--systems "mono e2e ..."]
#   recipes/sweep.sh --corpus synthetic [--hours "1 3 10"] [--eval-hours 0.2]
#       (on a CPU, pass the CPU-sized configs: --recipe-opts "--e2e-config
#       conf/e2e/synthetic_cpu.yaml --phone-ctc-config conf/ctc_phone/synthetic_cpu.yaml
#       --hybrid-config conf/hybrid/synthetic_cpu.yaml --average-num 5"; the README's
#       command also widens the GMM tuning grid, whose default edge the synthetic
#       voices' GMMs chose: --gmm-lm-weights '7 9 ... 25' --gmm-penalties '0 0.5 1 1.5 2')
#   recipes/sweep.sh --corpus librispeech [--hours "10 100"] [--recipe-opts "--url-base URL"]
#       [--out-dir DIR] [--nj J] [--cmd local|"slurm ..."] [--set NAME] [--recipe-opts "..."]
#
# For each size the corpus's own recipe (recipes/an4/run.sh, recipes/librispeech/run.sh)
# runs with a data dir and an exp dir of its own, so every size is an ordinary recipe
# run (done markers, lock, logs) under OUT/<size>/{data,exp}:
#   an4          OUT/data_full = `asr prepare an4`; size P% = a speaker-balanced subset of
#                P% of its training hours (`asr data subset --hours`), dev/test unchanged.
#   synthetic    OUT/corpus = one espeak-ng LibriSpeech-layout corpus with max(--hours) of
#                train-clean-100 (+ --eval-hours of dev-clean/test-clean; their sentences
#                are never training sentences) and its fixed 3-gram LM; size H = the
#                recipe's `--train-hours H` subset of it, decoded with that LM.
#   librispeech  size H = `recipes/librispeech/run.sh --train-hours H` (downloads shared
#                in OUT/downloads; pass --url-base/--train-set through --recipe-opts).
# An hour size's dir holds sweep_size.json, so that mono (trained on a subset of at most
# the recipe's --mono-hours) still lands in its size's row of the report.
# Then `asr sweep-report OUT --set SET` writes OUT/sweep.md, OUT/sweep.json and
# OUT/sweep.png (%WER per system per size on SET; WER vs hours on a log axis, the
# crossover of two systems marked if there is one).
#
# Systems: a system runs when it is asked for (--systems; default: every one below),
# the toolkit has its command (checked with `asr --help`), and the corpus's recipe has
# stages for it; otherwise a line says why it is skipped. Preparation stages run first.
#   system     needs `asr ...`    an4 stages    librispeech stages
#   mono       train-mono         10-12         10-12
#   tri1       train-tri          13-15         20-22   (after mono)
#   tri3       train-sat          20-26         20-28   (an4: tri2, tri3, tri3 + trigram;
#                                                        librispeech: tri1, tri2, tri3)
#   hybrid     train-hybrid       27-28         40-41   (after tri3)
#   phone_ctc  mkgraph-ctc        40-43         50-53
#   e2e        train              30-33         30-33   (e2e and e2e_lm)
# A recipe that gains stages for a system gets their range in the tables below
# (an4_stages / libri_stages) and the sweep runs them.
#
# Options (defaults in brackets):
#   --out-dir      [recipes/an4/exp_sweep, recipes/librispeech/exp_sweep{,_synthetic}]
#   --set          the evaluation set of the table [an4: test, others: test-clean]
#   --recipe-opts  extra options for every recipe run, shell-quoted, e.g.
#                  "--mono-opts 'num_iters=10 total_gauss=500'"
#   --nj, --cmd    as the recipes take them [2, local]; --seed  subset/synthesis seed [0]
#   --eval-hours   synthetic only: hours of its dev-clean and test-clean [0.2]
set -euo pipefail
# The body is one brace group: bash reads all of it before running any, so editing this
# file while it runs cannot change what a running recipe does.
{

corpus=
fractions="25 50 100"
hours=
eval_hours=0.2
systems=
out=
nj=2
cmd=local
set_name=
recipe_opts=
seed=0

usage() { sed -n '/^set -euo/q;2,$p' "$0"; }
abspath() { if [[ $1 == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }
while (($#)); do
  case "$1" in
    --corpus) corpus=$2; shift 2 ;;
    --fractions) fractions=$2; shift 2 ;;
    --hours) hours=$2; shift 2 ;;
    --eval-hours) eval_hours=$2; shift 2 ;;
    --systems) systems=$2; shift 2 ;;
    --out-dir) out=$(abspath "$2"); shift 2 ;;
    --nj) nj=$2; shift 2 ;;
    --cmd) cmd=$2; shift 2 ;;
    --set) set_name=$2; shift 2 ;;
    --recipe-opts) recipe_opts=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "sweep.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

recipes=$(cd "$(dirname "$0")" && pwd)
repo_venv="$recipes/../.venv"
[[ -x $repo_venv/bin/asr ]] && export PATH="$(cd "$repo_venv/bin" && pwd):$PATH"
command -v asr >/dev/null || { echo "sweep.sh: 'asr' not on PATH; activate .venv" >&2; exit 1; }

# Stage ranges per system in each recipe; "prep" = data/feature stages run first.
declare -A an4_stages=([prep]=0-1 [mono]=10-12 [tri1]=13-15 [tri3]=20-26 [hybrid]=27-28 [e2e]=30-33 [phone_ctc]=40-43)
declare -A libri_stages=([prep]=0-3 [mono]=10-12 [tri1]=20-22 [tri3]=20-28 [hybrid]=40-41
                         [e2e]=30-33 [phone_ctc]=50-53)
declare -A needs=([mono]=train-mono [tri1]=train-tri [tri3]=train-sat [hybrid]=train-hybrid
                  [phone_ctc]=mkgraph-ctc [e2e]=train)
all_systems="mono tri1 tri3 hybrid phone_ctc e2e"

case "$corpus" in
  an4) recipe=$recipes/an4/run.sh; declare -n stages=an4_stages; set_name=${set_name:-test}
       sizes=$fractions ;;
  synthetic) recipe=$recipes/librispeech/run.sh; declare -n stages=libri_stages
       set_name=${set_name:-test-clean}; sizes=${hours:-1 3 10} ;;
  librispeech) recipe=$recipes/librispeech/run.sh; declare -n stages=libri_stages
       set_name=${set_name:-test-clean}; sizes=${hours:-10 100} ;;
  *) echo "sweep.sh: --corpus must be an4, synthetic or librispeech" >&2; usage >&2; exit 2 ;;
esac
case "$corpus" in
  an4) out=${out:-$recipes/an4/exp_sweep} ;;
  synthetic) out=${out:-$recipes/librispeech/exp_sweep_synthetic} ;;
  librispeech) out=${out:-$recipes/librispeech/exp_sweep} ;;
esac
mkdir -p "$out"
# --recipe-opts is shell-quoted text (options with spaces inside quotes): parse it once.
eval "extra_opts=($recipe_opts)"

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') [sweep] $*" >&2; }
asr_help=$(asr --help)  # the toolkit's commands, listed once
has_command() { grep -w -- "$1" >/dev/null <<< "$asr_help"; }

# The systems to run, in order, each checked against the toolkit and the recipe.
run_systems=()
for sys in ${systems:-$all_systems}; do
  if [[ -z ${needs[$sys]:-} ]]; then
    echo "sweep.sh: unknown system '$sys' (known: $all_systems)" >&2; exit 2
  elif ! has_command "${needs[$sys]}"; then
    log "$sys skipped: this toolkit has no 'asr ${needs[$sys]}'"
  elif [[ -z ${stages[$sys]:-} ]]; then
    log "$sys skipped: $(basename "$(dirname "$recipe")")/run.sh has no stages for it yet"
  else
    run_systems+=("$sys")
  fi
done
((${#run_systems[@]})) || { echo "sweep.sh: no system to run" >&2; exit 1; }
log "corpus $corpus, sizes: $sizes; systems: ${run_systems[*]} -> $out"

# recipe_run SIZE_DIR STAGES [OPTIONS...]: one recipe run over a stage range A-B.
recipe_run() {
  local dir=$1 range=$2; shift 2
  bash "$recipe" --data-dir "$dir/data" --exp-dir "$dir/exp" --nj "$nj" --cmd "$cmd" \
    --stage "${range%-*}" --stop-stage "${range#*-}" "$@" "${extra_opts[@]}"
}

# an4_size P DIR: DIR/data/{train,dev,test} with P% of the training hours.
an4_size() {
  local p=$1 dir=$2 total target
  if [[ ! -f $dir/data/.complete ]]; then
    total=$(asr data info "$out/data_full/train" --hours)
    target=$(python3 -c "print(round($total * $p / 100, 4))")  # float arithmetic
    if ((p >= 100)); then
      asr data copy "$out/data_full/train" "$dir/data/train"
    else
      asr data subset "$out/data_full/train" "$dir/data/train" --hours "$target" --seed "$seed"
    fi
    for set in dev test; do asr data copy "$out/data_full/$set" "$dir/data/$set"; done
    touch "$dir/data/.complete"
  fi
}

if [[ $corpus == an4 ]]; then
  if [[ ! -f $out/data_full/.complete ]]; then
    asr prepare an4 --out-dir "$out/data_full"
    touch "$out/data_full/.complete"
  fi
  prep=1-${an4_stages[prep]#*-}  # stage 0 would prepare the full corpus over the subset
elif [[ $corpus == synthetic ]]; then
  max_hours=$(python3 -c "print(max(float(h) for h in '$sizes'.split()))")
  # the marker, not the folder: an interrupted generation leaves a partial corpus, which
  # the rerun regenerates (the output is deterministic given the seed)
  if [[ ! -f $out/corpus/.complete ]]; then
    python -m asr.corpora.synthetic --out "$out/corpus" --hours "$max_hours" \
      --eval-hours "$eval_hours" --seed "$seed" --nj "$nj" --lm-dir "$out/corpus/lm"
    touch "$out/corpus/.complete"
  fi
  prep=${libri_stages[prep]}
  # one LM for every size (as LibriSpeech's openslr LM), written with the corpus
  extra_opts=(--corpus-dir "$out/corpus" --lm-dir "$out/corpus/lm" --lm-arpa 3-gram.synthetic.arpa.gz
              --eval-sets "dev-clean test-clean" "${extra_opts[@]}")
else
  prep=${libri_stages[prep]}
  extra_opts=(--download-dir "$out/downloads" "${extra_opts[@]}")
fi

for size in $sizes; do
  if [[ $corpus == an4 ]]; then
    dir=$out/an4_${size}pct; size_opts=()
    an4_size "$size" "$dir" >&2
  else
    dir=$out/train_${size}h; size_opts=(--train-hours "$size")
    # the row of this size in asr sweep-report, whatever subset a system trains on
    mkdir -p "$dir" && printf '{"hours": %s}\n' "$size" > "$dir/sweep_size.json"
  fi
  log "size $size: $dir"
  recipe_run "$dir" "$prep" "${size_opts[@]}"
  for sys in "${run_systems[@]}"; do
    log "size $size: $sys (stages ${stages[$sys]})"
    recipe_run "$dir" "${stages[$sys]}" "${size_opts[@]}"
  done
done

asr sweep-report "$out" --set "$set_name" --output "$out/sweep.md" --json "$out/sweep.json" \
  --plot "$out/sweep.png"
cat "$out/sweep.md"
exit
}
