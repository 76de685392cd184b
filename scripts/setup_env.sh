#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment and install everything the
# toolkit needs, on a fresh Debian/Ubuntu machine or an existing one.
#
#   bash scripts/setup_env.sh          # runtime: torch (CPU), the package, WFST/LM extras
#   bash scripts/setup_env.sh --dev    # + test tools and reference implementations
#                                      #   (kaldi-native-fbank; KenLM's lmplz built from source)
#
# Environment:
#   VENV=.venv                 where the environment lives
#   TORCH_SPEC=torch==2.13.0   the torch to install first (a CUDA build on GPU machines,
#                              e.g. TORCH_SPEC="torch --index-url <your CUDA wheel index>")
#   PYTHON=python3             interpreter used to create the environment
set -euo pipefail
cd "$(dirname "$0")/.."

dev=false
for arg in "$@"; do
  case "$arg" in
    --dev) dev=true ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "setup_env.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
PYTHON=${PYTHON:-python3}

log() { echo "[setup $(date +%H:%M:%S)] $*" >&2; }

# System packages: a C++ toolchain and cmake build kenlm's Python module; libsndfile
# is bundled in soundfile's wheel. Install only what is missing (needs root or sudo).
need_apt=()
command -v g++ >/dev/null || need_apt+=(g++)
command -v cmake >/dev/null || need_apt+=(cmake)
# espeak-ng speaks the synthetic LibriSpeech-layout corpus (tests and offline recipe runs).
$dev && ! command -v espeak-ng >/dev/null && need_apt+=(espeak-ng)
if ((${#need_apt[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  log "installing system packages: ${need_apt[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" zlib1g-dev libbz2-dev liblzma-dev
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV"
fi
py="$VENV/bin/python"
"$py" -m pip install -q --upgrade pip

# torch first, so that the package's own `torch>=...` requirement is already met and
# pip does not pull a multi-GB CUDA build on a CPU machine.
if ! "$py" -c "import torch" 2>/dev/null; then
  log "installing $TORCH_SPEC"
  "$py" -m pip install -q $TORCH_SPEC
fi

extras="wfst,lm,ctcdecode,lexicon"
$dev && extras="$extras,dev"
log "installing the asr package with extras [$extras] (kenlm compiles from source once: about a minute)"
"$py" -m pip install -q -e ".[$extras]"

# KenLM's lmplz: the second n-gram estimator the LM tests compare against (dev only).
if $dev && [ ! -x "$VENV/bin/lmplz" ]; then
  install_apt=0
  if ! dpkg -s libboost-program-options-dev libboost-thread-dev >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] && install_apt=1
  fi
  log "building KenLM's lmplz into $VENV/bin (about 1.5 minutes)"
  "$py" -m pip install -q setuptools wheel
  INSTALL_APT=$install_apt PYTHON="$(cd "$(dirname "$py")" && pwd)/python" \
    bash scripts/build_lmplz.sh "$(cd "$VENV" && pwd)"
fi
log "ready: activate with '. $VENV/bin/activate'"
