#!/usr/bin/env bash
# A real client, slixmpp (pinned in tests/slixmpp/requirements.txt), through
# the IM scenario of tests/slixmpp/scenario.py against a server on loopback.
#
#   scripts/slixmpp.sh install          # make or reuse the venv (target/slixmpp-venv)
#   scripts/slixmpp.sh run [ARGS...]    # install if needed, then run the scenario with ARGS
#   scripts/slixmpp.sh against DIR      # both security modes against the server of
#                                       # `scripts/prosody.sh start DIR` or
#                                       # `scripts/ejabberd.sh start DIR` (its DIR/env)
#
# The venv lives in $SLIXMPP_VENV (default target/slixmpp-venv: never
# system-wide). It is reused while its stamp matches the requirements file
# and the interpreter; otherwise it is made anew. Only the install reaches
# PyPI; the scenario talks to the given host and port only.
# `run --help` lists the scenario's options; without --host/--port/--domain/
# --ca it takes them from the XMPP_INTEROP_* variables.
set -euo pipefail
cd "$(dirname "$0")/.."

REQS=tests/slixmpp/requirements.txt
SCENARIO=tests/slixmpp/scenario.py
VENV=${SLIXMPP_VENV:-target/slixmpp-venv}
PYTHON=${PYTHON:-python3}

stamp() {
  # What the venv was made from: the pins and the interpreter.
  { "$PYTHON" -c 'import sys; print(sys.version)'; cat "$REQS"; } | sha256sum | cut -d' ' -f1
}

cmd_install() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "slixmpp $(grep '^slixmpp==' "$REQS" | cut -d= -f3) needs Python >= 3.11; $PYTHON is $("$PYTHON" -V 2>&1)" >&2
    return 1
  }
  local want
  want=$(stamp)
  if [[ -x $VENV/bin/python && -f $VENV/.stamp && $(cat "$VENV/.stamp") == "$want" ]]; then
    return 0
  fi
  local t0=$SECONDS
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input -r "$REQS"
  "$VENV/bin/python" -m pip check -q >/dev/null
  echo "$want" >"$VENV/.stamp"
  echo "slixmpp venv made in $VENV ($((SECONDS - t0)) s): $("$VENV/bin/python" -c \
    'import slixmpp, platform; print("slixmpp", slixmpp.__version__, "on Python", platform.python_version())')"
}

cmd_run() {
  cmd_install
  "$VENV/bin/python" "$SCENARIO" "$@"
}

# Both modes against one server of scripts/prosody.sh or scripts/ejabberd.sh:
# STARTTLS on tls.localhost (required there) and the clear on
# plain.localhost, two slixmpp sessions (alice and bob). Raw XML and
# slixmpp's debug log go to DIR/slixmpp-<mode>/.
cmd_against() {
  local dir=${1:?usage: slixmpp.sh against DIR}
  [[ -f $dir/env ]] || { echo "no $dir/env: run scripts/prosody.sh start $dir first" >&2; return 1; }
  cmd_install
  local mode
  for mode in starttls plain; do
    mkdir -p "$dir/slixmpp-$mode"
    ( set -a; . "$dir/env"; set +a
      "$VENV/bin/python" "$SCENARIO" --security "$mode" \
        --xml-dir "$dir/slixmpp-$mode" --debug-log "$dir/slixmpp-$mode/debug.log" )
  done
}

case ${1:-} in
  install) cmd_install ;;
  run) shift; cmd_run "$@" ;;
  against) shift; cmd_against "$@" ;;
  *) echo "usage: $0 install | run [SCENARIO ARGS...] | against DIR" >&2; exit 2 ;;
esac
