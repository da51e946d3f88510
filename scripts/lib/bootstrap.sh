# Installs what the native stack and the tests need, idempotently; sourced by scripts/*.
# Each step checks first, so a second run costs a second or two.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export UV_PYTHON_DOWNLOADS=never UV_SYSTEM_CERTS=1
UV_VERSION="0.13.9"
# Python keeps its bytecode caches (__pycache__, ignored by git). A machine that sets
# PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module of LangChain, Textual and
# pytest's plugins (whose assertion rewriting is cached the same way) again in every
# process: about 5 s of each pytest worker's start and of each service's, measured here.
unset PYTHONDONTWRITEBYTECODE

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $*"; fi
}

apt_updated=""
# Waits for the package lock instead of failing when another install is running.
apt_install() {
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  say "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null \
    || die "apt-get install $* failed"
}

ensure_postgres() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
  # The Debian package creates the postgres user our throwaway clusters run as.
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    apt_install postgresql
  fi
}

ensure_go() {
  command -v go >/dev/null || die "Go 1.22+ is required (https://go.dev/doc/install)"
}

ensure_uv() {
  if ! command -v uv >/dev/null; then
    say "installing uv from PyPI"
    python3 -m pip install --quiet "uv==${UV_VERSION}" || die "pip install uv failed"
    hash -r
  fi
  command -v uv >/dev/null || die "uv is installed but not on PATH"
}

# The project's virtualenv: every locked dependency, then our packages in editable mode.
ensure_venv() {
  ensure_uv
  local stamp="$ROOT/.venv/.locked"
  local want
  want="$(cat "$ROOT/requirements-dev.lock" "$ROOT"/*/pyproject.toml | sha256sum | cut -c1-16)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  say "setting up .venv from requirements-dev.lock"
  [ -x "$ROOT/.venv/bin/python" ] || uv venv --quiet --python python3 "$ROOT/.venv" || die "uv venv failed"
  # --compile-bytecode: the first test run's parallel workers need not each compile it all.
  uv pip sync --quiet --compile-bytecode --python "$ROOT/.venv/bin/python" \
    --require-hashes "$ROOT/requirements-dev.lock" \
    || die "installing locked Python dependencies failed"
  uv pip install --quiet --python "$ROOT/.venv/bin/python" --no-deps \
    -e "$ROOT/service_common" -e "$ROOT/agent" -e "$ROOT/mock_whatsapp" -e "$ROOT/simulator" \
    || die "installing the project's Python packages failed"
  echo "$want" >"$stamp"
}

# Headless Chromium for the mock's inspector tests (Playwright drives it; it never
# downloads a browser of its own).
ensure_chromium() {
  command -v chromium >/dev/null && return
  # Another apt run on the same machine can pull packages out from under this one; one
  # retry, after letting dpkg finish what it started, gets through.
  (apt_install --no-install-recommends chromium) || {
    as_root dpkg --configure -a >/dev/null 2>&1 || true
    apt_install --no-install-recommends chromium
  }
}

# Prometheus and promtool from Debian's package, for `up --monitoring` and the tests of the
# rules. Where systemd runs, the package starts a system Prometheus on :9090; the stack
# runs its own (on PROMETHEUS_PORT, under .stack/), so that one is switched off again.
ensure_prometheus() {
  command -v prometheus >/dev/null && command -v promtool >/dev/null && return
  apt_install --no-install-recommends prometheus
  if command -v systemctl >/dev/null && systemctl is-active --quiet prometheus 2>/dev/null; then
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
}

build_delivery() {
  ensure_go
  mkdir -p "$ROOT/.stack/bin"
  (cd "$ROOT/delivery" && go build -o "$ROOT/.stack/bin/delivery" ./cmd/delivery) \
    || die "building delivery failed"
}

bootstrap_native() {
  ensure_postgres
  ensure_venv
  build_delivery
}
