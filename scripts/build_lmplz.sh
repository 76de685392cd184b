#!/usr/bin/env bash
# Build KenLM's `lmplz` (and `build_binary`) from the kenlm sdist on PyPI.
#
# The kenlm sdist carries the full C++ source tree, including lm/builder (lmplz).
# Needs g++, cmake and Boost (program_options, system, thread) plus zlib/bz2/lzma
# headers; on Debian/Ubuntu run with INSTALL_APT=1 (as root) to install them.
#
# Usage: scripts/build_lmplz.sh [PREFIX]      (default PREFIX: $VIRTUAL_ENV or /usr/local)
# Result: PREFIX/bin/lmplz and PREFIX/bin/build_binary.
# Env:    KENLM_VERSION (default 0.3.0), JOBS (default 2), INSTALL_APT=1, WORK_DIR,
#         PYTHON (the interpreter whose pip fetches the sdist; it needs setuptools and
#         wheel, since the sdist's metadata step runs without build isolation).
set -euo pipefail

prefix="${1:-${VIRTUAL_ENV:-/usr/local}}"
version="${KENLM_VERSION:-0.3.0}"
jobs="${JOBS:-2}"
work="${WORK_DIR:-$(mktemp -d)}"

log() { echo "[build_lmplz] $*" >&2; }

if [[ "${INSTALL_APT:-0}" == "1" ]]; then
  log "installing build dependencies with apt-get"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ cmake \
    libboost-program-options-dev libboost-system-dev libboost-thread-dev \
    libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev
fi

for tool in g++ cmake make; do
  command -v "$tool" >/dev/null || { log "missing tool: $tool"; exit 1; }
done

start=$(date +%s)
cd "$work"
if [[ ! -f "kenlm-${version}.tar.gz" ]]; then
  log "downloading kenlm==${version} sdist into $work"
  # --no-build-isolation: do not build cmake from source for the metadata step.
  "${PYTHON:-python3}" -m pip download "kenlm==${version}" --no-binary kenlm --no-deps \
    --no-build-isolation -d . >&2
fi
tar xzf "kenlm-${version}.tar.gz"
mkdir -p "kenlm-${version}/build"
cd "kenlm-${version}/build"
cmake .. -DCMAKE_BUILD_TYPE=Release -DKENLM_MAX_ORDER=6 >&2
make -j"$jobs" lmplz build_binary >&2
mkdir -p "$prefix/bin"
install -m 0755 bin/lmplz bin/build_binary "$prefix/bin/"
log "installed $prefix/bin/lmplz and $prefix/bin/build_binary in $(( $(date +%s) - start )) s"
