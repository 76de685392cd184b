#!/usr/bin/env bash
# LibriSpeech recipe: download to WER table, one `asr` (or `python -m asr...`) call per stage.
#
#   recipes/librispeech/run.sh [--stage N] [--stop-stage M] [--stages "0-12,30-33,99"]
#       [--nj J] [--cmd local|"slurm ..."]
#       [--force] [--url-base URL] [--lm-url-base URL] [--download-dir DIR] [--corpus-dir DIR]
#       [--lm-dir DIR] [--train-set train-clean-100|train-460|train-960] [--train-hours H]
#       [--eval-sets "dev-clean test-clean ..."] [--data-dir DIR] [--exp-dir DIR]
#       [--lm-arpa NAME] [--lm-order N] [--mono-hours H] [--mono-opts "key=value ..."]
#       [--tri-opts "key=value ..."] [--gmm-lm-weights "7 8 ..."] [--gmm-penalties "0 0.5 1"]
#       [--gmm-tune-by search|lattice]
#       [--hybrid-config FILE] [--hybrid-opts "key=value ..."]
#       [--e2e-config FILE] [--e2e-opts "key=value ..."] [--ngpu N] [--average-num N]
#       [--decode-config FILE] [--decode-opts "key=value ..."] [--lm-weight "W ..."]
#       [--phone-ctc-config FILE] [--phone-ctc-opts "key=value ..."]
#
# Stages (a finished stage leaves exp/.done/stage<N>.<name> and is skipped next time;
# --force reruns the selected stages; one run at a time per exp dir, enforced by a lock):
#   0  download     the parts (eval sets + the train set's parts) from --url-base, md5/sha256
#                   checked, resumed after interruptions, extracted to DOWNLOAD/LibriSpeech;
#                   LM resources from --lm-url-base to DOWNLOAD/lm (lexicon + vocabulary;
#                   --lm-arpa if the server has it); --corpus-dir / --lm-dir skip each fetch
#   1  data         a data dir per part; the train set: a combined set (train-460/960) or,
#                   with --train-hours H, a speaker-balanced H-hour subset (DATA/train-<H>h);
#                   the monophone subset (--mono-hours, speaker-balanced)
#   2  lang         DATA/lang/lexicon.txt (LibriSpeech lexicon) + DATA/lang/lm.arpa: the
#                   downloaded --lm-arpa (3-gram pruned 3e-7, Kaldi's tgsmall) when there,
#                   else a Kneser-Ney --lm-order-gram of the train text
#   3  mfcc         13-dim MFCC + per-speaker CMVN stats, --nj jobs via --cmd -> DATA/mfcc/<set>
#   10 mono_train   flat-start monophone HMM-GMM on the mono subset -> exp/mono
#   11 mono_graph   HCLG with DATA/lang                            -> exp/mono/graph
#   12 mono_decode  LM weight/penalty tuned on the first dev set, then every eval set, scored
#   20-22 tri1      triphones on MFCC + deltas (decision tree from mono's alignments of
#                   the whole train set: the utterances outside the mono subset are first
#                   aligned with mono's model, as Kaldi's align_si.sh); sizes by hours
#                   (--tri-opts); train/graph/decode; run only when `asr train-tri` exists
#   23-25 tri2      LDA+MLLT triphones from tri1's alignments: train/graph/decode
#   26-28 tri3      SAT (fMLLR per speaker) from tri2's alignments: train/graph/two-pass decode
#   30 e2e_train    Conformer CTC/attention on BPE (--e2e-config, fbank computed on the fly,
#                   tokenizer trained on the train text); --ngpu N > 1 launches
#                   `torchrun --nproc_per_node N -m asr.bin.main train` (DDP, NCCL)
#   31 e2e_average  average the --average-num best checkpoints (dev loss) -> exp/e2e/final.pt
#   32 e2e_decode   every eval set without LM (--decode-config)  -> exp/e2e/decode_<set>
#   33 e2e_lm_decode CTC prefix beam search + DATA/lang/lm.arpa shallow fusion, the
#                   fusion weight chosen on the dev set among --lm-weight (asr tune)
#                                                                -> exp/e2e_lm/decode_<set>
#   40 hybrid_train TDNN on tri3's fMLLR features and alignments (--hybrid-config)
#   41 hybrid_decode through tri3's graph with tri3's speaker transforms of each set
#   50 phone_ctc_train   CTC-only Conformer over the lexicon's phonemes (--phone-ctc-config;
#                   --ngpu as stage 30)
#   51 phone_ctc_average average the --average-num best checkpoints
#   52 phone_ctc_graph   HLG: CTC topology, DATA/lang lexicon, DATA/lang/lm.arpa
#   53 phone_ctc_decode  LM weight + penalty tuned on the dev set, every eval set scored
#   99 compare      the WER table of every system under exp/     -> exp/results.{md,json}
#
# Options (defaults in brackets):
#   --url-base      where <part>.tar.gz are served [https://www.openslr.org/resources/12];
#                   a mirror may serve md5sum.txt or sha256sum.txt beside them
#   --lm-url-base   where the LM resources are served [https://www.openslr.org/resources/11]
#   --download-dir  [downloads]; --corpus-dir DIR uses an extracted tree instead (no download)
#   --lm-dir        LM resources already on disk (librispeech-lexicon.txt [+ --lm-arpa]):
#                   nothing fetched from --lm-url-base [DOWNLOAD/lm, fetched in stage 0]
#   --train-set     [train-clean-100]; --train-hours H trains on an H-hour subset of it
#   --eval-sets     [dev-clean test-clean dev-other test-other]; the first dev* set tunes
#   --data-dir, --exp-dir  [data, exp in this folder]
#   --lm-arpa       LM file name in resource 11 [3-gram.pruned.3e-7.arpa.gz]; --lm-order [3]
#   --mono-hours    monophone training subset [2]; 0 = the whole train set
#   --mono-opts / --tri-opts  key=value overrides for `asr train-mono` / `asr train-tri`
#                   (--tri-opts also sizes tri2 and tri3, as trainer.KEY=VALUE)
#                   Unless --tri-opts sets num_leaves or total_gauss, tri1-tri3 grow
#                   with the training hours as in Kaldi's recipes (tri_size_opts below):
#                   300 leaves / 1500 Gaussians under 2 h (AN4's), 2000 / 10000 under
#                   30 h, 4200 / 40000 under 200 h (train-clean-100), 5000 / 100000
#                   under 600 h (train-460), 7000 / 150000 above (train-960).
#   --hybrid-config [conf/hybrid/librispeech.yaml]; --hybrid-opts FrameTrainConfig overrides
#   --phone-ctc-config [conf/ctc_phone/librispeech_100h.yaml]; --phone-ctc-opts (-o)
#   --gmm-lm-weights, --gmm-penalties  the grid the GMM systems (mono, tri1-3) tune on
#                   dev [decode-gmm's: 7-17 x 0 0.5 1]; a dev choice on the grid's edge
#                   is logged and listed in best_setting.json ("grid_edges")
#   --gmm-tune-by   search|lattice [search]: how the GMM and hybrid dev tuning decodes the
#                   grid: one search per setting (exact), or one lattice pass whose
#                   lattices give every setting's best path (Kaldi's scoring; use it on
#                   the real dev-clean: 33 full searches of 5.4 h take hours)
#   --e2e-config    [conf/e2e/librispeech_100h.yaml]; --e2e-opts key=value overrides (-o)
#   --ngpu          GPUs for e2e training [0: one process, GPU if there is one]
#   --average-num   [10]; --decode-config [conf/e2e/decode.yaml]; --decode-opts (-o);
#   --lm-weight     shallow-fusion weights stage 33 tries on dev ["0.2 0.3 0.5 0.8"]
#   --nj, --cmd     parallel jobs of the feature stage and how they run [4, local]; --nj
#                   also sets the dev-tuning and CPU end-to-end decoding processes
#                   (`--cmd "slurm --partition cpu --time 1:00:00"`); training and decoding
#                   run where run.sh runs: submit run.sh itself to a GPU node for stage 30.
# A tiny run (as tests/recipes/test_librispeech_recipe.py does against a local mirror):
#   run.sh --url-base http://127.0.0.1:8000 --lm-url-base http://127.0.0.1:8000/lm \
#       --eval-sets "dev-clean test-clean" --mono-opts "num_iters=4 total_gauss=60" \
#       --e2e-config tiny.yaml --average-num 2
set -euo pipefail
# The body is one brace group: bash reads all of it before running any, so editing this
# file while it runs cannot change what a running recipe does.
{
. "$(dirname "$0")/../lib/recipe.sh"
recipe_name=librispeech

stage=0
stop_stage=100
stages=
nj=4
cmd=local
force=false
url_base=https://www.openslr.org/resources/12
lm_url_base=https://www.openslr.org/resources/11
download=downloads
corpus_dir=
lm_dir=
train_set=train-clean-100
train_hours=
eval_sets="dev-clean test-clean dev-other test-other"
data=data
exp=exp
lm_arpa=3-gram.pruned.3e-7.arpa.gz
lm_order=3
mono_hours=2
mono_opts=
tri_opts=
gmm_lm_weights=
gmm_penalties=
gmm_tune_by=search
e2e_config=../../conf/e2e/librispeech_100h.yaml
e2e_opts=
ngpu=0
average_num=10
decode_config=../../conf/e2e/decode.yaml
decode_opts=
lm_weight="0.2 0.3 0.5 0.8"
hybrid_config=../../conf/hybrid/librispeech.yaml
hybrid_opts=
phone_ctc_config=../../conf/ctc_phone/librispeech_100h.yaml
phone_ctc_opts=

usage() { sed -n '/^set -euo/q;2,$p' "$0"; }
# Paths given on the command line are relative to where run.sh was started.
invocation="$0 $*"
while (($#)); do
  case "$1" in
    --stage) stage=$2; shift 2 ;;
    --stop-stage|--stop_stage) stop_stage=$2; shift 2 ;;
    --stages) stages=$2; shift 2 ;;
    --nj) nj=$2; shift 2 ;;
    --cmd) cmd=$2; shift 2 ;;
    --force) force=true; shift ;;
    --url-base) url_base=$2; shift 2 ;;
    --lm-url-base) lm_url_base=$2; shift 2 ;;
    --download-dir) download=$(abspath "$2"); shift 2 ;;
    --corpus-dir) corpus_dir=$(abspath "$2"); shift 2 ;;
    --lm-dir) lm_dir=$(abspath "$2"); shift 2 ;;
    --train-set) train_set=$2; shift 2 ;;
    --train-hours) train_hours=$2; shift 2 ;;
    --eval-sets) eval_sets=$2; shift 2 ;;
    --data-dir) data=$(abspath "$2"); shift 2 ;;
    --exp-dir) exp=$(abspath "$2"); shift 2 ;;
    --lm-arpa) lm_arpa=$2; shift 2 ;;
    --lm-order) lm_order=$2; shift 2 ;;
    --mono-hours) mono_hours=$2; shift 2 ;;
    --mono-opts) mono_opts=$2; shift 2 ;;
    --tri-opts) tri_opts=$2; shift 2 ;;
    --gmm-lm-weights) gmm_lm_weights=$2; shift 2 ;;
    --gmm-penalties) gmm_penalties=$2; shift 2 ;;
    --gmm-tune-by) gmm_tune_by=$2; shift 2 ;;
    --e2e-config) e2e_config=$(abspath "$2"); shift 2 ;;
    --e2e-opts) e2e_opts=$2; shift 2 ;;
    --ngpu) ngpu=$2; shift 2 ;;
    --average-num) average_num=$2; shift 2 ;;
    --decode-config) decode_config=$(abspath "$2"); shift 2 ;;
    --decode-opts) decode_opts=$2; shift 2 ;;
    --lm-weight) lm_weight=$2; shift 2 ;;
    --hybrid-config) hybrid_config=$(abspath "$2"); shift 2 ;;
    --hybrid-opts) hybrid_opts=$2; shift 2 ;;
    --phone-ctc-config) phone_ctc_config=$(abspath "$2"); shift 2 ;;
    --phone-ctc-opts) phone_ctc_opts=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
case "$train_set" in
  train-clean-100|train-clean-360|train-other-500|train-460|train-960) ;;
  *) echo "run.sh: --train-set must be train-clean-100, train-460 or train-960 (or a" \
       "train part), got '$train_set'" >&2; exit 2 ;;
esac

recipe_dir=$(cd "$(dirname "$0")" && pwd)
recipe_enter "$recipe_dir"

# has_command NAME: the installed toolkit has `asr NAME` (later systems are optional).
has_command() { asr --help | grep -w -- "$1" >/dev/null; }

# The training set's data dir name, the dev set that tunes decoding, the sets to decode.
if [[ -n $train_hours ]]; then train="train-${train_hours}h"; else train=$train_set; fi
read -r -a evals <<< "$eval_sets"
dev=
for set in "${evals[@]}"; do [[ $set == dev* ]] && { dev=$set; break; }; done
if [[ -z $dev ]]; then
  echo "run.sh: --eval-sets needs a dev set to tune on: '$eval_sets'" >&2; exit 2
fi
mono_train=$train; [[ $mono_hours != 0 ]] && mono_train="${train}_mono"
lang=$data/lang
corpus_root=${corpus_dir:-$download}
resources=${lm_dir:-$download/lm}

join() { local IFS=,; echo "$*"; }
overrides() { local kv; for kv in $1; do printf -- '-o\n%s\n' "$kv"; done; }

stage_download() {
  if [[ -n $corpus_dir ]]; then
    log "parts not downloaded: using --corpus-dir $corpus_dir"
  else
    python -m asr.corpora.librispeech download --dir "$download" --base-url "$url_base" \
      --parts "$(join "${evals[@]}" "$train_set")"
  fi
  if [[ -n $lm_dir ]]; then
    log "LM resources not downloaded: using --lm-dir $lm_dir"
  else
    python -m asr.corpora.librispeech download-lm --dir "$resources" --base-url "$lm_url_base" \
      --files librispeech-lexicon.txt,librispeech-vocab.txt --optional "$lm_arpa"
  fi
}

stage_data() {
  local subset=()
  [[ -n $train_hours ]] && subset=(--subset-hours "$train_hours" --subset-from "$train_set")
  asr prepare librispeech --corpus-dir "$corpus_root" --out-dir "$data" \
    --parts "$(join "${evals[@]}" "$train_set")" "${subset[@]}"
  # (asr prepare validates every set it writes)
  if [[ $mono_train != "$train" ]]; then
    asr data subset "$data/$train" "$data/$mono_train" --hours "$mono_hours"
    asr data validate "$data/$mono_train"
  fi
}

stage_lang() {
  python -m asr.corpora.librispeech lang --resources "$resources" --train-text "$data/$train/text" \
    --out "$lang" --arpa "$lm_arpa" --order "$lm_order"
}

stage_mfcc() {
  for set in "$train" "${evals[@]}"; do
    asr compute-feats "$data/$set" "$data/mfcc/$set" --feature mfcc --cmvn speaker \
      --nj "$nj" --cmd "$cmd" --log-dir "$exp/log/mfcc_$set"
  done
}

# score DECODE_DIR SET TRAIN: WER of DECODE_DIR/text against DATA/SET, recording the
# hours of DATA/TRAIN (the data the system was trained on) for WER-vs-hours tables.
declare -A hours_of=()  # data dir -> hours, looked up once per run
score() {
  [[ -n ${hours_of[$3]:-} ]] || hours_of[$3]=$(asr data info "$data/$3" --hours)
  asr score --ref "$data/$2/text" --hyp "$1/text" --hours "${hours_of[$3]}"
}

# graph_decode COMMAND SYSTEM TRAIN GRAPH [OPTIONS...]: `asr COMMAND` tuned on the dev set
# (LM weight x penalty, --nj settings at once), then every eval set with the chosen
# setting, scored. An option "%SET%" becomes each set's name (per-set transform dirs).
graph_decode() {
  local command=$1 sys=$exp/$2 train_dir=$3 graph=$4 grid=() set
  shift 4
  # the GMM grid is for the GMM decoders; the hybrid and phoneme CTC keep their own
  if [[ $command == decode-gmm || $command == decode-gmm-sat ]]; then
    [[ -n $gmm_lm_weights ]] && grid+=(--lm-weights "$gmm_lm_weights")
    [[ -n $gmm_penalties ]] && grid+=(--penalties "$gmm_penalties")
  fi
  # the HMM systems' decoders (not decode-ctc-hlg) can tune from lattices
  [[ $command != decode-ctc-hlg ]] && grid+=(--tune-by "$gmm_tune_by")
  asr "$command" --model "$sys" --graph "$graph" --data "$data/$dev" --out "$sys/decode_$dev" \
    --tune --nj "$nj" "${grid[@]}" "${@//%SET%/$dev}"
  for set in "${evals[@]}"; do
    if [[ $set != "$dev" ]]; then
      asr "$command" --model "$sys" --graph "$graph" --data "$data/$set" \
        --out "$sys/decode_$set" --setting "$sys/decode_$dev/best_setting.json" "${@//%SET%/$set}"
    fi
    score "$sys/decode_$set" "$set" "$train_dir"
  done
}
gmm_decode() { graph_decode decode-gmm "$1" "$2" "$exp/$1/graph"; }
sat_decode() { graph_decode decode-gmm-sat "$1" "$2" "$exp/$1/graph"; }

stage_mono_train() {
  # shellcheck disable=SC2086  # mono_opts: word-split into key=value overrides
  asr train-mono --data "$data/$mono_train" --lexicon "$lang/lexicon.txt" --out "$exp/mono" \
    $mono_opts
}

# tri_size_opts: --tri-opts, led by the tree and mixture sizes of tri1-tri3 for the
# training hours unless it sets them. The sizes grow with the data in steps, as in
# Kaldi's recipes: AN4's tuned 300 leaves / 1500 Gaussians under 2 h; 2000 / 10000 (its
# mini_librispeech tri1, 5 h) under 30 h; 4200 / 40000 (tri4b, train-clean-100) under
# 200 h; 5000 / 100000 (tri5b, train-460) under 600 h; 7000 / 150000 (tri6b, train-960).
tri_size_opts() {
  if [[ $tri_opts == *num_leaves=* || $tri_opts == *total_gauss=* ]]; then
    echo "$tri_opts"; return
  fi
  local hours
  hours=$(asr data info "$data/$train" --hours)
  awk -v h="$hours" -v rest="$tri_opts" 'BEGIN {
    if (h < 2) s = "num_leaves=300 total_gauss=1500"
    else if (h < 30) s = "num_leaves=2000 total_gauss=10000"
    else if (h < 200) s = "num_leaves=4200 total_gauss=40000"
    else if (h < 600) s = "num_leaves=5000 total_gauss=100000"
    else s = "num_leaves=7000 total_gauss=150000"
    print s (rest == "" ? "" : " " rest) }'
}

stage_tri1_train() {
  local opts; opts=$(tri_size_opts)
  log "tri1 options: $opts"
  # shellcheck disable=SC2086  # opts: word-split into key=value overrides
  asr train-tri --data "$data/$train" --lexicon "$lang/lexicon.txt" --ali-dir "$exp/mono" \
    --out "$exp/tri1" $opts
}

# stage_tri_train_as COMMAND SYS ALI_SYS: tri2 (LDA+MLLT) and tri3 (SAT), whose trainers
# take the sizes as trainer.KEY=VALUE.
stage_tri_train_as() {
  local opts; opts=$(tri_size_opts)
  log "$2 options: $opts"
  # shellcheck disable=SC2086
  asr "$1" --data "$data/$train" --lexicon "$lang/lexicon.txt" --ali-dir "$exp/$3" \
    --out "$exp/$2" $(printf 'trainer.%s ' $opts)
}

stage_hybrid_train() {
  # shellcheck disable=SC2086  # hybrid_opts: word-split into key=value overrides
  asr train-hybrid --data "$data/$train" --ali-dir "$exp/tri3" --out "$exp/hybrid" \
    --config "$hybrid_config" $hybrid_opts
}

stage_phone_ctc_train() {
  local train_cmd=(asr)
  ((ngpu > 1)) && train_cmd=(torchrun --standalone --nproc_per_node "$ngpu" -m asr.bin.main)
  mapfile -t opts < <(overrides "$phone_ctc_opts")
  "${train_cmd[@]}" train --config "$phone_ctc_config" --train "$data/$train" \
    --valid "$data/$dev" --exp-dir "$exp/phone_ctc" -o "tokenizer.lexicon=$lang/lexicon.txt" \
    "${opts[@]}"
}

stage_mkgraph() {  # $1 = system
  asr mkgraph --lexicon "$lang/lexicon.txt" --model "$exp/$1" --lm "$lang/lm.arpa" \
    --out "$exp/$1/graph"
}

stage_e2e_train() {
  local train_cmd=(asr)
  if ((ngpu > 1)); then
    # torchrun sets RANK/WORLD_SIZE/LOCAL_RANK; asr.training.distributed joins the group.
    train_cmd=(torchrun --standalone --nproc_per_node "$ngpu" -m asr.bin.main)
  fi
  mapfile -t opts < <(overrides "$e2e_opts")
  "${train_cmd[@]}" train --config "$e2e_config" --train "$data/$train" --valid "$data/$dev" \
    --exp-dir "$exp/e2e" "${opts[@]}"
}

stage_e2e_decode() {  # every eval set without LM, with --decode-config
  mapfile -t opts < <(overrides "$decode_opts")
  for set in "${evals[@]}"; do
    asr decode --model "$exp/e2e" --data "$data/$set" --out "$exp/e2e/decode_$set" \
      --decode-config "$decode_config" --nj "$nj" "${opts[@]}"
    score "$exp/e2e/decode_$set" "$set" "$train"
  done
}

stage_e2e_lm_decode() {  # CTC prefix beam + word n-gram: fusion weight chosen on dev
  local base w set cands=()
  # shellcheck disable=SC2086  # decode_opts: word-split into key=value items
  base=$(join $decode_opts method=ctc_prefix_beam "lm=$lang/lm.arpa")
  for w in $lm_weight; do cands+=(-c "$base,lm_weight=$w"); done
  asr tune --model "$exp/e2e" --data "$data/$dev" --out "$exp/e2e_lm/tune_$dev" \
    --best-out "$exp/e2e_lm/decode_$dev" --decode-config "$decode_config" --nj "$nj" \
    "${cands[@]}"
  for set in "${evals[@]}"; do
    if [[ $set != "$dev" ]]; then
      asr decode --model "$exp/e2e" --data "$data/$set" --out "$exp/e2e_lm/decode_$set" \
        --decode-config "$exp/e2e_lm/tune_$dev/best.yaml" --nj "$nj"
    fi
    score "$exp/e2e_lm/decode_$set" "$set" "$train"
  done
}

stage_compare() {
  asr compare "$exp" --output "$exp/results.md"
  asr compare "$exp" --format json --output "$exp/results.json"
  cat "$exp/results.md"
}

run_stage 0 download stage_download
run_stage 1 data stage_data
run_stage 2 lang stage_lang
run_stage 3 mfcc stage_mfcc
run_stage 10 mono_train stage_mono_train
run_stage 11 mono_graph stage_mkgraph mono
run_stage 12 mono_decode gmm_decode mono "$mono_train"
if ((22 >= stage && 20 <= stop_stage)); then
  if has_command train-tri; then
    run_stage 20 tri1_train stage_tri1_train
    run_stage 21 tri1_graph stage_mkgraph tri1
    run_stage 22 tri1_decode gmm_decode tri1 "$train"
  else
    log "Stages 20-22: tri1 skipped: this toolkit has no 'asr train-tri' yet"
  fi
fi
run_stage 23 tri2_train stage_tri_train_as train-lda-mllt tri2 tri1
run_stage 24 tri2_graph stage_mkgraph tri2
run_stage 25 tri2_decode sat_decode tri2 "$train"
run_stage 26 tri3_train stage_tri_train_as train-sat tri3 tri2
run_stage 27 tri3_graph stage_mkgraph tri3
run_stage 28 tri3_decode sat_decode tri3 "$train"
run_stage 30 e2e_train stage_e2e_train
run_stage 31 e2e_average asr average --exp-dir "$exp/e2e" --num "$average_num" --by best
run_stage 32 e2e_decode stage_e2e_decode
run_stage 33 e2e_lm_decode stage_e2e_lm_decode
run_stage 40 hybrid_train stage_hybrid_train
run_stage 41 hybrid_decode graph_decode decode-hybrid hybrid "$train" "$exp/tri3/graph" \
  --transform-dir "$exp/tri3/decode_%SET%"
run_stage 50 phone_ctc_train stage_phone_ctc_train
run_stage 51 phone_ctc_average asr average --exp-dir "$exp/phone_ctc" --num "$average_num" --by best
run_stage 52 phone_ctc_graph asr mkgraph-ctc --model "$exp/phone_ctc" --lexicon "$lang/lexicon.txt" \
  --lm "$lang/lm.arpa" --out "$exp/phone_ctc/graph"
run_stage 53 phone_ctc_decode graph_decode decode-ctc-hlg phone_ctc "$train" "$exp/phone_ctc/graph"
# Stage 99 always runs when selected: it only reads results.
if selected 99; then
  log "Stage 99: compare"
  stage_compare
fi
exit
}
