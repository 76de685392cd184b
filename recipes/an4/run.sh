#!/usr/bin/env bash
# AN4 recipe: every step from the corpus to the WER table, one `asr` call per stage.
#
#   recipes/an4/run.sh [--stage N] [--stop-stage M] [--nj J] [--cmd local|"slurm ..."] [--force]
#                      [--data-dir DIR] [--exp-dir DIR] [--train-utts N] [--eval-utts N]
#                      [--mono-opts "key=value ..."] [--tri-opts "key=value ..."]
#                      [--hybrid-opts "key=value ..."] [--e2e-config FILE]
#                      [--phone-ctc-config FILE] [--average-num N] [--nproc N]
#
# Stages (a stage that finished leaves a done marker and is skipped on the next run;
# --force reruns the selected stages):
#   0  data         data/{train,dev,test} from corpora/an4 (FLAC shipped in the repo)
#   1  mfcc         13-dim MFCC + per-speaker CMVN stats        -> data/mfcc/{train,dev,test}
#   10 mono_train   flat-start monophone HMM-GMM (MFCC+deltas, 1000 Gaussians) -> exp/mono
#   11 mono_graph   HCLG with a Kneser-Ney bigram of the train text      -> exp/mono/graph
#   12 mono_decode  LM weight + insertion penalty tuned on dev, then test -> exp/mono/decode_{dev,test}
#   13 tri1_train   triphones on MFCC+deltas: decision tree from mono's alignments, 300 leaves,
#                   1500 Gaussians                               -> exp/tri1
#   14 tri1_graph   HCLG with triphone context, same bigram      -> exp/tri1/graph
#   15 tri1_decode  tuned on dev, then test                      -> exp/tri1/decode_{dev,test}
#   20 tri2_train   LDA+MLLT triphones on mono's alignments (splice +-3 -> LDA 40 dims, MLLT;
#                   300 leaves / 1500 Gaussians)                 -> exp/tri2
#   21 tri2_graph   HCLG for tri2 (bigram of the train text)     -> exp/tri2/graph
#   22 tri2_decode  LM weight + penalty tuned on dev, then test  -> exp/tri2/decode_{dev,test}
#   23 tri3_train   SAT: per-speaker fMLLR on tri2's features, tri2's alignments -> exp/tri3
#   24 tri3_graph   HCLG for tri3                                -> exp/tri3/graph
#   25 tri3_decode  two passes (speaker-independent pass -> fMLLR -> adapted pass), tuned on dev
#                                                               -> exp/tri3/decode_{dev,test}
#   26 tri3_rescore tri3's 20-best lists rescored with a trigram of the train text
#                                                               -> exp/tri3/decode_{dev,test}_tg
#   27 hybrid_train TDNN frame classifier (conf/hybrid/an4.yaml) on tri3's fMLLR features
#                   and tied-state alignments; posteriors / priors replace the GMM's
#                   likelihoods                                  -> exp/hybrid
#   28 hybrid_decode through exp/tri3/graph with tri3's speaker transforms of each set,
#                   LM weight + penalty tuned on dev             -> exp/hybrid/decode_{dev,test}
#   30 e2e_train    Conformer CTC/attention on characters (conf/e2e/an4.yaml; fbank on the fly)
#                                                               -> exp/e2e
#   31 e2e_average  average the 5 best checkpoints (dev loss)   -> exp/e2e/final.pt
#   32 e2e_tune     decoding method chosen by WER on dev        -> exp/e2e/tune_dev/best.yaml
#                   (its dev hypotheses                          -> exp/e2e/decode_dev)
#   33 e2e_decode   decode test with it, score dev and test     -> exp/e2e/decode_{dev,test}
#   40 phone_ctc_train   Conformer CTC on phonemes (conf/ctc_phone/an4.yaml) -> exp/phone_ctc
#   41 phone_ctc_average average the 5 best checkpoints (dev loss)  -> exp/phone_ctc/final.pt
#   42 phone_ctc_graph   HLG: CTC topology, lexicon, bigram of the train text -> exp/phone_ctc/graph
#   43 phone_ctc_decode  LM weight + insertion penalty tuned on dev, then test
#                                                               -> exp/phone_ctc/decode_{dev,test}
#   99 compare      the WER table of every system under exp/    -> exp/results.{md,json}
#
# Everything lands under recipes/an4/{data,exp}; logs under exp/log/.
#
# Knobs for small runs (tests, quick checks); the defaults give the full recipe:
#   --data-dir, --exp-dir  where data dirs and experiments go (default data, exp in this folder)
#   --train-utts N, --eval-utts N  keep the first N utterances of train / of dev and test
#                  (stage 0 prepares the full sets under DATA/an4_full, then subsets; 0 = all)
#   --mono-opts    MonoConfig overrides for stage 10, e.g. "num_iters=4 total_gauss=100"
#   --tri-opts     TriConfig overrides for tri1, tri2 and tri3 (stages 13, 20, 23), e.g.
#                  "num_leaves=30 total_gauss=150 num_iters=4 realign_iters=[2]"; they replace
#                  the AN4 sizes below (tri2/tri3 get them as trainer.KEY=VALUE)
#   --hybrid-opts  FrameTrainConfig overrides for stage 27, e.g. "max_epochs=1 model.hidden_dim=32"
#   --e2e-config   the stage 30 YAML (default conf/e2e/an4.yaml)
#   --phone-ctc-config  the stage 40 YAML (default conf/ctc_phone/an4.yaml)
#   --average-num  checkpoints averaged by stage 31 (default 5)
#   --nproc N      train the Conformers (stages 30, 40) in N data-parallel processes
#                  (torchrun + DistributedDataParallel; gloo on CPU, one thread each);
#                  each process takes a 1/N share of data.max_duration, so the batch is
#                  the configured one. Default auto: 2 on a machine without a GPU and
#                  with at least 2 CPU cores (on the 2-core CPU, two one-thread training
#                  processes do 142 s of audio per second against 94 for one process
#                  with two threads), else 1 (one process, torch's own threads)
#   --stages LIST  run only these stages, e.g. "0-12,30-33,99" (instead of --stage/--stop-stage)
#   --nj J         parallel jobs: MFCC extraction, the dev tuning sweeps of the graph
#                  systems and the e2e tuning/decoding processes (stages 32-33) (default 2)
set -euo pipefail
# The body is one brace group: bash reads all of it before running any, so editing this
# file while it runs cannot change what a running recipe does.
{
. "$(dirname "$0")/../lib/recipe.sh"
recipe_name=an4

stage=0
stop_stage=100
nj=2
cmd=local
force=false
data=data
exp=exp
train_utts=0
eval_utts=0
mono_opts=
tri_opts=
hybrid_opts=
e2e_config=../../conf/e2e/an4.yaml
phone_ctc_config=../../conf/ctc_phone/an4.yaml
average_num=5
nproc=auto
stages=

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d'; }
# Paths given on the command line are relative to where run.sh was started.
invocation="$0 $*"
while (($#)); do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage|--stop_stage) stop_stage=$2; shift 2 ;;
    --nj) nj=$2; shift 2 ;;
    --cmd) cmd=$2; shift 2 ;;
    --force) force=true; shift ;;
    --data-dir) data=$(abspath "$2"); shift 2 ;;
    --exp-dir) exp=$(abspath "$2"); shift 2 ;;
    --train-utts) train_utts=$2; shift 2 ;;
    --eval-utts) eval_utts=$2; shift 2 ;;
    --mono-opts) mono_opts=$2; shift 2 ;;
    --tri-opts) tri_opts=$2; shift 2 ;;
    --hybrid-opts) hybrid_opts=$2; shift 2 ;;
    --e2e-config) e2e_config=$(abspath "$2"); shift 2 ;;
    --phone-ctc-config) phone_ctc_config=$(abspath "$2"); shift 2 ;;
    --average-num) average_num=$2; shift 2 ;;
    --nproc) nproc=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

recipe_dir=$(cd "$(dirname "$0")" && pwd)
recipe_enter "$recipe_dir"

stage_data() {
  if ((train_utts > 0 || eval_utts > 0)); then
    asr prepare an4 --out-dir "$data/an4_full"
    local set n
    for set in train dev test; do
      n=$eval_utts; [[ $set == train ]] && n=$train_utts
      if ((n > 0)); then
        asr data subset "$data/an4_full/$set" "$data/$set" --first "$n"
      else
        asr data copy "$data/an4_full/$set" "$data/$set"
      fi
    done
  else
    asr prepare an4 --out-dir "$data"
  fi
  for set in train dev test; do asr data validate "$data/$set"; done
}

stage_features() {  # $1 = mfcc|fbank, $2 = cmvn mode
  for set in train dev test; do
    asr compute-feats "$data/$set" "$data/$1/$set" --feature "$1" --cmvn "$2" \
      --nj "$nj" --cmd "$cmd" --log-dir "$exp/log/$1_$set"
  done
}

lexicon=../../corpora/an4/etc/an4.dic

# score DECODE_DIR SET [SYSTEM]: WER of DECODE_DIR/text against data/SET, with training
# hours; SYSTEM names the row when DECODE_DIR is not exp/<system>/decode_<set>.
train_hours=
score() {
  [[ -n $train_hours ]] || train_hours=$(asr data info "$data/train" --hours)
  asr score --ref "$data/$2/text" --hyp "$1/text" --hours "$train_hours" --set "$2" \
    ${3:+--system "$3"}
}

stage_gmm_decode() {  # $1 = mono | tri1
  asr decode-gmm --model "$exp/$1" --graph "$exp/$1/graph" --data "$data/dev" \
    --out "$exp/$1/decode_dev" --tune --nj "$nj"
  asr decode-gmm --model "$exp/$1" --graph "$exp/$1/graph" --data "$data/test" \
    --out "$exp/$1/decode_test" --setting "$exp/$1/decode_dev/best_setting.json"
  for set in dev test; do score "$exp/$1/decode_$set" "$set"; done
}

# AN4 is small: Kaldi's default 2000-4000 leaves overfit it (500 leaves / 4000 Gaussians
# gave 14.2% (tri2) and 7.2% (tri3) test WER against 9.2% and 4.3% with these sizes).
tri_sizes=(trainer.num_leaves=300 trainer.total_gauss=1500 trainer.num_iters=25
           "trainer.realign_iters=[10,20]" trainer.max_iter_inc=20)
tri1_opts=()
if [[ -n $tri_opts ]]; then
  read -r -a tri1_opts <<< "$tri_opts"
  tri_sizes=("${tri1_opts[@]/#/trainer.}")
fi

stage_sat_decode() {  # $1 = tri2 | tri3
  asr decode-gmm-sat --model "$exp/$1" --graph "$exp/$1/graph" --data "$data/dev" \
    --out "$exp/$1/decode_dev" --tune --lm-weights "7 8 9 10 11 12 13 14 15 16 17 18 19 20 22" \
    --nj "$nj"
  asr decode-gmm-sat --model "$exp/$1" --graph "$exp/$1/graph" --data "$data/test" \
    --out "$exp/$1/decode_test" --setting "$exp/$1/decode_dev/best_setting.json"
  for set in dev test; do score "$exp/$1/decode_$set" "$set"; done
}

# n-best lists of tri3's adapted pass (dev-tuned setting), rescored with a trigram of the
# train text in place of the graph's bigram -> exp/tri3/decode_{dev,test}_tg (row tri3_tg).
stage_tri3_rescore() {
  local set
  for set in dev test; do
    asr decode-gmm-sat --model "$exp/tri3" --graph "$exp/tri3/graph" --data "$data/$set" \
      --out "$exp/tri3/nbest_$set" --setting "$exp/tri3/decode_dev/best_setting.json" --nbest 20
    asr rescore-lm --decode-dir "$exp/tri3/nbest_$set" --old-lm "$exp/tri3/graph/lm.arpa" \
      --new-lm-text "$data/train/text" --new-lm-order 3 --out "$exp/tri3/decode_${set}_tg"
    score "$exp/tri3/decode_${set}_tg" "$set" tri3_tg
  done
}

# The TDNN reads tri3's fMLLR features, so each set's speaker transforms come from tri3's
# decode of that set (stage 25), as Kaldi's nnet recipes use --transform-dir.
stage_hybrid_decode() {
  asr decode-hybrid --model "$exp/hybrid" --graph "$exp/tri3/graph" --data "$data/dev" \
    --out "$exp/hybrid/decode_dev" --tune --transform-dir "$exp/tri3/decode_dev" --nj "$nj"
  asr decode-hybrid --model "$exp/hybrid" --graph "$exp/tri3/graph" --data "$data/test" \
    --out "$exp/hybrid/decode_test" --setting "$exp/hybrid/decode_dev/best_setting.json" \
    --transform-dir "$exp/tri3/decode_test"
  for set in dev test; do score "$exp/hybrid/decode_$set" "$set"; done
}

# train_conformer CONFIG EXP_DIR [OVERRIDES...]: `asr train`, in --nproc DDP processes
# when more than one (each with its share of the configured batch duration).
train_conformer() {
  local config=$1 dir=$2; shift 2
  if [[ $nproc == auto ]]; then
    nproc=$(python -c 'import os, torch
print(2 if not torch.cuda.is_available() and (os.cpu_count() or 1) >= 2 else 1)')
  fi
  if ((nproc > 1)); then
    local share
    share=$(python -c 'import sys, yaml
data = (yaml.safe_load(open(sys.argv[1])) or {}).get("data") or {}
if "max_duration" not in data: sys.exit(sys.argv[1] + ": --nproc needs data.max_duration")
print(float(data["max_duration"]) / int(sys.argv[2]))' "$config" "$nproc")
    OMP_NUM_THREADS=1 torchrun --standalone --nproc_per_node "$nproc" -m asr.bin.main train \
      --config "$config" --train "$data/train" --valid "$data/dev" --exp-dir "$dir" \
      -o "data.max_duration=$share" "$@"
  else
    asr train --config "$config" --train "$data/train" --valid "$data/dev" --exp-dir "$dir" "$@"
  fi
}

stage_e2e_train() {
  train_conformer "$e2e_config" "$exp/e2e"
}

stage_e2e_tune() {
  asr tune --model "$exp/e2e" --data "$data/dev" --out "$exp/e2e/tune_dev" \
    --best-out "$exp/e2e/decode_dev" --nj "$nj" \
    -c method=attention,ctc_weight=0.5,length_penalty=0.5 \
    -c method=attention,ctc_weight=0.5,length_penalty=1.0 \
    -c method=attention_rescoring,ctc_weight=0.5 -c method=ctc_greedy
}

# dev was decoded with the chosen setting by stage 32 (--best-out)
stage_e2e_decode() {
  asr decode --model "$exp/e2e" --data "$data/test" --out "$exp/e2e/decode_test" \
    --decode-config "$exp/e2e/tune_dev/best.yaml" --nj "$nj"
  for set in dev test; do score "$exp/e2e/decode_$set" "$set"; done
}

hybrid_config=../../conf/hybrid/an4.yaml

stage_phone_ctc_train() {
  train_conformer "$phone_ctc_config" "$exp/phone_ctc" -o tokenizer.lexicon="$lexicon"
}

stage_phone_ctc_decode() {
  asr decode-ctc-hlg --model "$exp/phone_ctc" --graph "$exp/phone_ctc/graph" --data "$data/dev" \
    --out "$exp/phone_ctc/decode_dev" --tune --nj "$nj"
  asr decode-ctc-hlg --model "$exp/phone_ctc" --graph "$exp/phone_ctc/graph" --data "$data/test" \
    --out "$exp/phone_ctc/decode_test" --setting "$exp/phone_ctc/decode_dev/best_setting.json"
  for set in dev test; do score "$exp/phone_ctc/decode_$set" "$set"; done
}

stage_compare() {
  asr compare "$exp" --output "$exp/results.md"
  asr compare "$exp" --format json --output "$exp/results.json"
  cat "$exp/results.md"
}

run_stage 0 data stage_data
run_stage 1 mfcc stage_features mfcc speaker
# shellcheck disable=SC2086  # mono_opts, hybrid_opts: word-split into key=value overrides
run_stage 10 mono_train asr train-mono --data "$data/train" --lexicon "$lexicon" --out "$exp/mono" \
  $mono_opts
run_stage 11 mono_graph asr mkgraph --lexicon "$lexicon" --model "$exp/mono" \
  --lm-text "$data/train/text" --lm-order 2 --out "$exp/mono/graph"
run_stage 12 mono_decode stage_gmm_decode mono
run_stage 13 tri1_train asr train-tri --data "$data/train" --lexicon "$lexicon" --ali-dir "$exp/mono" \
  --out "$exp/tri1" "${tri1_opts[@]}"
run_stage 14 tri1_graph asr mkgraph --lexicon "$lexicon" --model "$exp/tri1" \
  --lm-text "$data/train/text" --lm-order 2 --out "$exp/tri1/graph"
run_stage 15 tri1_decode stage_gmm_decode tri1
run_stage 20 tri2_train asr train-lda-mllt --data "$data/train" --lexicon "$lexicon" \
  --ali-dir "$exp/mono" --out "$exp/tri2" "${tri_sizes[@]}"
run_stage 21 tri2_graph asr mkgraph --lexicon "$lexicon" --model "$exp/tri2" \
  --lm-text "$data/train/text" --lm-order 2 --out "$exp/tri2/graph"
run_stage 22 tri2_decode stage_sat_decode tri2
run_stage 23 tri3_train asr train-sat --data "$data/train" --lexicon "$lexicon" \
  --ali-dir "$exp/tri2" --out "$exp/tri3" "${tri_sizes[@]}"
run_stage 24 tri3_graph asr mkgraph --lexicon "$lexicon" --model "$exp/tri3" \
  --lm-text "$data/train/text" --lm-order 2 --out "$exp/tri3/graph"
run_stage 25 tri3_decode stage_sat_decode tri3
run_stage 26 tri3_rescore stage_tri3_rescore
run_stage 27 hybrid_train asr train-hybrid --data "$data/train" --ali-dir "$exp/tri3" \
  --out "$exp/hybrid" --config "$hybrid_config" $hybrid_opts
run_stage 28 hybrid_decode stage_hybrid_decode
run_stage 30 e2e_train stage_e2e_train
run_stage 31 e2e_average asr average --exp-dir "$exp/e2e" --num "$average_num" --by best
run_stage 32 e2e_tune stage_e2e_tune
run_stage 33 e2e_decode stage_e2e_decode
run_stage 40 phone_ctc_train stage_phone_ctc_train
run_stage 41 phone_ctc_average asr average --exp-dir "$exp/phone_ctc" --num "$average_num" --by best
run_stage 42 phone_ctc_graph asr mkgraph-ctc --model "$exp/phone_ctc" --lm-text "$data/train/text" \
  --lm-order 2 --out "$exp/phone_ctc/graph"
run_stage 43 phone_ctc_decode stage_phone_ctc_decode
# Stage 99 always runs when selected: it only reads results.
if selected 99; then
  log "Stage 99: compare"
  stage_compare
fi
exit
}
