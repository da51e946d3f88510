# Decides how scripts/up runs the stack: "compose" when a Docker engine answers, else "native".
stack_mode() {
  case "${STACK_MODE:-}" in
    compose|native) echo "$STACK_MODE"; return ;;
    "") ;;
    *) die "STACK_MODE must be compose or native, not '$STACK_MODE'" ;;
  esac
  if command -v docker >/dev/null && timeout 5 docker info >/dev/null 2>&1; then
    echo compose
  else
    echo native
  fi
}
