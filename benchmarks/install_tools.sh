#!/usr/bin/env bash
# Install the two tools that benchmarks/bench_deep.py compares mxtls with.
#
#   testssl.sh  Debian's package `testssl.sh` (binary /usr/bin/testssl), through apt;
#               needs root.  Debian's build uses the system OpenSSL (no bundled binary).
#   sslyze      from PyPI into its own virtualenv benchmarks/.venv-tools, so that its
#               pinned cryptography/pydantic never touch mxtls's .venv.
#
# Idempotent: whatever is already there is left alone.  Exit status 0 when both tools
# are usable afterwards, 1 when one of them could not be installed (the message says
# which and why; bench_deep.py then runs without it and says so).
#
#   bash benchmarks/install_tools.sh
#
# Environment:
#   SSLYZE_SPEC   pip requirement for sslyze (default: sslyze==6.3.1, the version the
#                 benchmark's name mapping was checked against)
#   PYTHON        interpreter for the tools' virtualenv (default: python3; sslyze 6.3
#                 needs Python >= 3.10)
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv-tools"
sslyze_spec="${SSLYZE_SPEC:-sslyze==6.3.1}"
python="${PYTHON:-python3}"
# Bounds for the slow steps (seconds): a stuck mirror must not hang the script.
apt_timeout=900
pip_timeout=900
failed=0

say() { printf 'install_tools: %s\n' "$*"; }

# --- testssl.sh ------------------------------------------------------------------
testssl_bin=""
for candidate in testssl testssl.sh; do
    if command -v "$candidate" >/dev/null 2>&1; then
        testssl_bin="$(command -v "$candidate")"
        break
    fi
done
if [ -n "$testssl_bin" ]; then
    say "testssl.sh present: $testssl_bin"
elif [ "$(id -u)" -ne 0 ]; then
    say "testssl.sh missing and not root: run 'sudo apt-get install testssl.sh' (Debian/Ubuntu)"
    failed=1
elif ! command -v apt-get >/dev/null 2>&1; then
    say "testssl.sh missing and no apt-get here: install testssl.sh 3.x by hand, on PATH"
    failed=1
else
    say "installing Debian's testssl.sh package (apt-get update + install)"
    if timeout "$apt_timeout" apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive timeout "$apt_timeout" \
            apt-get install -y -qq --no-install-recommends testssl.sh >/dev/null; then
        say "testssl.sh installed: $(command -v testssl || echo '?')"
    else
        say "apt-get could not install testssl.sh (see the messages above)"
        failed=1
    fi
fi

# --- sslyze ----------------------------------------------------------------------
if [ -x "$venv/bin/sslyze" ] && "$venv/bin/python" -c 'import sslyze' >/dev/null 2>&1; then
    say "sslyze present: $venv/bin/sslyze ($("$venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("sslyze"))'))"
else
    if ! command -v "$python" >/dev/null 2>&1; then
        say "no $python to build $venv with; set PYTHON=/path/to/python3.10+"
        failed=1
    elif [ ! -x "$venv/bin/python" ] && ! "$python" -m venv "$venv"; then
        say "could not create $venv ('$python -m venv'; on Debian: apt-get install python3-venv)"
        failed=1
    elif ! timeout "$pip_timeout" "$venv/bin/python" -m pip install -q --disable-pip-version-check \
        "$sslyze_spec"; then
        say "pip could not install $sslyze_spec into $venv (see the messages above)"
        failed=1
    else
        say "sslyze installed: $venv/bin/sslyze"
    fi
fi

if [ "$failed" -ne 0 ]; then
    say "some tools are missing; bench_deep.py will skip them and say so"
    exit 1
fi
say "ready: .venv/bin/python benchmarks/bench_deep.py"
