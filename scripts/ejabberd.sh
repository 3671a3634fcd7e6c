#!/usr/bin/env bash
# A real ejabberd on loopback for the interop tests, beside scripts/prosody.sh.
#
#   scripts/ejabberd.sh install      # apt-get install ejabberd (no service started)
#   scripts/ejabberd.sh start DIR    # config, CA + certificate, accounts in DIR; start; write DIR/env
#   scripts/ejabberd.sh stop DIR     # stop it
#
# Everything lives in DIR: both configuration files, the Mnesia spool,
# logs, pid file, certificates. The server listens on 127.0.0.1 only (three
# c2s listeners, and the Erlang distribution port), with s2s, HTTP and
# every other listener off. DIR/env holds the XMPP_INTEROP_* variables the
# tests read (tests/common/interop.rs), with XMPP_INTEROP_SERVER=ejabberd.
#
# How it runs (ejabberd 23.01, Debian's package):
#
# - Through the packaged `ejabberdctl`, every path given on its command
#   line (--config-dir, --config, --ctl-config, --logs, --spool), so nothing
#   of /etc/ejabberd or /var/lib/ejabberd is read or written. As root,
#   ejabberdctl runs the Erlang VM as the package's `ejabberd` user (`su`),
#   so DIR belongs to that user.
# - The VM is an Erlang distribution node: ejabberdctl's own commands
#   (`register`, `status`, `stop`) are separate short-lived VMs that connect
#   to it. Left to its defaults it would register with epmd on every
#   interface under the node name `ejabberd@localhost`, with the cookie in
#   the ejabberd user's home, which a system-wide ejabberd shares. Our
#   ejabberdctl.cfg gives it a node name of its own, a fixed distribution
#   port (ERL_DIST_PORT: no epmd at all), the distribution bound to
#   127.0.0.1 (`-kernel inet_dist_use_interface`), and a random cookie, so
#   it neither listens beyond loopback nor meets any other node. (The
#   cookie is on the VM's command line, so local users can read it there:
#   this keeps test nodes apart, it is no defence against local users.)
# - Every ejabberdctl call boots a VM (about 0.5 s here). `started` polls
#   every 2 s, so we poll the c2s port instead. Accounts are registered by
#   one VM with an RPC per account (see `register_accounts`), not one
#   `ejabberdctl register` per account.
# - Measured on a 2-core machine: start with the accounts about 4.5 s,
#   stop about 1.1 s. Start it once per test run, not per test.
set -euo pipefail

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

# N free TCP ports on 127.0.0.1, one a line (one Python start for all:
# each costs a few hundred milliseconds on a busy machine).
free_ports() {
  python3 -c 'import socket,sys
socks=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1",0))
print("\n".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$1"
}

# Whether something accepts connections on 127.0.0.1:PORT (bash's /dev/tcp,
# no process started).
listening() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

MADE_POLICY=""
remove_policy() {
  if [[ -n "$MADE_POLICY" ]]; then
    $SUDO rm -f /usr/sbin/policy-rc.d
    MADE_POLICY=""
  fi
}

cmd_install() {
  if [[ -x /usr/sbin/ejabberdctl ]]; then
    return 0
  fi
  # Installing the package would start a system-wide service listening on
  # every interface (c2s, s2s, HTTP, STUN, MQTT): forbid service starts
  # while installing. The policy file we make is removed whatever apt-get
  # does: the install runs as one `||`-guarded list, so `set -e` cannot skip
  # the cleanup, and an EXIT trap covers an interrupt.
  local rc=0
  MADE_POLICY=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    MADE_POLICY=1
    trap remove_policy EXIT
    { printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null &&
      $SUDO chmod +x /usr/sbin/policy-rc.d; } || rc=$?
  fi
  if [[ $rc -eq 0 ]]; then
    { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        ejabberd openssl python3 >/dev/null; } || rc=$?
  fi
  remove_policy
  trap - EXIT
  # If the packaged service started anyway (policy-rc.d not honoured), stop
  # that service, and only it: never other ejabberd nodes (test servers
  # started by `start` may be running).
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    $SUDO systemctl stop ejabberd.service 2>/dev/null || true
  elif command -v service >/dev/null; then
    $SUDO service ejabberd stop >/dev/null 2>&1 || true
  fi
  return "$rc"
}

# A throwaway CA, and a server certificate it signs for every virtual host
# (subjectAltName included: rustls checks names there only). The CA is
# kept apart from the leaf: rustls refuses a CA certificate as the server's
# own, even a trusted one. ejabberd wants chain and key in one PEM file.
make_certs() {
  local dir=$1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=xmpp-sansio test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=tls.localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  cat > "$dir/server.ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:tls.localhost,DNS:plain.localhost,DNS:anon.localhost,DNS:conference.plain.localhost,DNS:localhost
EOF
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -sha256 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  cat "$dir/server.crt" "$dir/ca.pem" "$dir/server.key" > "$dir/server-chain.pem"
  # A self-signed certificate (CA:TRUE) for self.localhost, as Prosody's
  # `prosodyctl cert generate` makes them: only pinning it lets a client in.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=self.localhost" \
    -keyout "$dir/self.key" -out "$dir/self.crt" \
    -addext "basicConstraints=CA:TRUE" -addext "subjectAltName=DNS:self.localhost" 2>/dev/null
  cat "$dir/self.crt" "$dir/self.key" > "$dir/self-chain.pem"
}

# The accounts, as in scripts/prosody.sh: alice, bob and carol on every
# host with accounts; on plain.localhost more, so the IM tests (which run
# in parallel) each have their own rosters.
USERS=(alice bob carol dave erin frank grace heidi ivan judy kim leo mike nina)
accounts() {
  local host user
  for host in tls.localhost self.localhost plain.localhost; do
    local on=(alice bob carol)
    [[ $host == plain.localhost ]] && on=("${USERS[@]}")
    for user in "${on[@]}"; do echo "$user $host $user-secret"; done
  done
}

# Registers every account through one short-lived Erlang VM, an RPC to
# ejabberd_auth:try_register/3 per account: what `ejabberdctl register`
# does, without booting a VM per account (20 accounts: about 0.6 s instead
# of about 12 s). It connects the way ejabberdctl's own commands do (same
# cookie and distribution port, no listening socket of its own).
register_accounts() {
  local dir=$1 user host password calls=()
  while read -r user host password; do
    calls+=("{<<\"$user\">>, <<\"$host\">>, <<\"$password\">>}")
  done < <(accounts)
  local list
  list=$(IFS=,; echo "${calls[*]}")
  # shellcheck disable=SC1090
  ( . <($SUDO cat "$dir/ejabberdctl.cfg")
    # shellcheck disable=SC2086 # ERL_OPTIONS is a list of words
    HOME=$dir erl -sname "register-$$@localhost" $ERL_OPTIONS -erl_epmd_port "$ERL_DIST_PORT" \
      -start_epmd false -dist_listen false -hidden -noinput -eval "
        Failed = [{U, H, R} || {U, H, P} <- [$list],
                  (R = rpc:call('$ERLANG_NODE', ejabberd_auth, try_register, [U, H, P])) =/= ok],
        case Failed of
          [] -> halt(0);
          _ -> io:format(standard_error, \"registration failed: ~p~n\", [Failed]), halt(1)
        end." )
}

# ejabberdctl runs only as root or as the ejabberd user; as root it
# switches to that user itself.
ctl() {
  local dir=$1; shift
  $SUDO /usr/sbin/ejabberdctl --config-dir "$dir" --config "$dir/ejabberd.yml" \
    --ctl-config "$dir/ejabberdctl.cfg" --logs "$dir/logs" --spool "$dir/spool" "$@"
}

cmd_start() {
  local dir=${1:?usage: ejabberd.sh start DIR}
  mkdir -p "$dir/logs" "$dir/spool"
  dir=$(cd "$dir" && pwd)
  make_certs "$dir"
  local c2s plain tls dist cookie
  { read -r c2s; read -r plain; read -r tls; read -r dist; } < <(free_ports 4)
  cookie=$(openssl rand -hex 16)
  local node="xmppsansio-$dist@localhost"

  cat > "$dir/ejabberdctl.cfg" <<EOF
# Generated by scripts/ejabberd.sh for interop tests; loopback only.
# A node of our own, its distribution on a fixed loopback port (no epmd),
# a random cookie: nothing else can talk to it, it talks to nothing else.
ERLANG_NODE=$node
ERL_DIST_PORT=$dist
ERL_OPTIONS="-setcookie $cookie -kernel inet_dist_use_interface {127,0,0,1} -env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_PID_PATH=$dir/ejabberd.pid
EJABBERD_BYPASS_WARNINGS=true
CONTRIB_MODULES_PATH=$dir/contrib
EOF

  # Name resolution for the VM (ejabberdctl points it at CONFIG_DIR/inetrc).
  cat > "$dir/inetrc" <<EOF
{lookup,["file","native"]}.
{host,{127,0,0,1}, ["localhost"]}.
{file, resolv, "/etc/resolv.conf"}.
EOF

  cat > "$dir/ejabberd.yml" <<EOF
# Generated by scripts/ejabberd.sh for interop tests; loopback only.
loglevel: info
log_rotate_count: 0
hosts:
  - tls.localhost
  - plain.localhost
  - anon.localhost
  - self.localhost
certfiles:
  - "$dir/server-chain.pem"
  - "$dir/self-chain.pem"
ca_file: "$dir/ca.pem"
# Each c2s listener on 127.0.0.1 only. STARTTLS required on the main port;
# TLS from the first byte (XEP-0368) on another; STARTTLS offered but not
# required on a third, for the tests in the clear (ejabberd requires TLS
# per listener, not per host as Prosody does).
listen:
  -
    port: $c2s
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
    max_stanza_size: 262144
  -
    port: $tls
    ip: "127.0.0.1"
    module: ejabberd_c2s
    tls: true
    max_stanza_size: 262144
  -
    port: $plain
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: true
    max_stanza_size: 262144
# Passwords are stored as given (ejabberd's default), so every SCRAM hash
# can be offered: SCRAM-SHA-1, -256 and -512, each with its -PLUS form
# once TLS is up. DIGEST-MD5 and X-OAUTH2 are off, as in Debian's own
# configuration.
auth_password_format: plain
disable_sasl_mechanisms:
  - "DIGEST-MD5"
  - "X-OAUTH2"
# No server-to-server traffic at all: there is no s2s listener, and
# outgoing s2s is denied (none is a predefined rule that matches nobody).
s2s_access: none
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  muc_create:
    allow: local
shaper_rules:
  max_user_sessions: 10
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster:
    versioning: true
  mod_stream_mgmt: {}
  mod_version:
    show_os: false
host_config:
  plain.localhost:
    # A second session asking for a bound resource is refused; the other
    # hosts keep the default (the old session is closed).
    resource_conflict: closenew
  anon.localhost:
    # SASL ANONYMOUS (RFC 4505) only: ejabberd would offer PLAIN beside
    # it, which no account here can pass.
    auth_method: anonymous
    anonymous_protocol: sasl_anon
    disable_sasl_mechanisms:
      - "DIGEST-MD5"
      - "X-OAUTH2"
      - "PLAIN"
append_host_config:
  plain.localhost:
    # Multi-user chat (XEP-0045) for the groupchat tests, on this host only.
    modules:
      mod_muc:
        host: "conference.plain.localhost"
        access_create: muc_create
EOF
  # The node runs as the package's ejabberd user: DIR is its.
  $SUDO chown -R ejabberd: "$dir"
  $SUDO chmod 755 "$dir"
  $SUDO chmod 600 "$dir/ejabberdctl.cfg" # the cookie
  ctl "$dir" start
  # Listeners start last, once the modules are up: a c2s port accepting
  # connections means the node is ready. A configuration error stops the
  # VM early with a [critical] line in the log.
  local i up=""
  for i in $(seq 1 600); do
    if listening "$plain"; then
      up=1
      break
    fi
    if grep -qs '\[critical\]' "$dir/logs/ejabberd.log"; then
      break
    fi
    sleep 0.05
  done
  if [[ -z $up ]]; then
    echo "ejabberd did not start:" >&2
    tail -n 20 "$dir/logs/ejabberd.log" >&2 2>/dev/null || true
    cmd_stop "$dir"
    return 1
  fi
  # Loopback only: fail loudly if this node listens anywhere else (TCP or
  # UDP; ejabberd's STUN and MQTT listeners, say, were they configured).
  local pid
  pid=$(cat "$dir/ejabberd.pid")
  if command -v ss >/dev/null && ss -lntupH 2>/dev/null | grep "pid=$pid," | grep -vE '127\.0\.0\.1:|\[::1\]:' | grep -q .; then
    echo "ejabberd listens on a non-loopback address; refusing to continue" >&2
    cmd_stop "$dir"
    return 1
  fi
  if ! register_accounts "$dir"; then
    cmd_stop "$dir"
    return 1
  fi
  local creds=()
  for user in "${USERS[@]}"; do creds+=("$user:$user-secret"); done
  cat >"$dir/env" <<EOF
XMPP_INTEROP_SERVER=ejabberd
XMPP_INTEROP_HOST=127.0.0.1
XMPP_INTEROP_PORT=$c2s
XMPP_INTEROP_PLAIN_PORT=$plain
XMPP_INTEROP_TLS_PORT=$tls
XMPP_INTEROP_TLS_DOMAIN=tls.localhost
XMPP_INTEROP_PLAIN_DOMAIN=plain.localhost
XMPP_INTEROP_ANON_DOMAIN=anon.localhost
XMPP_INTEROP_SELF_SIGNED_DOMAIN=self.localhost
XMPP_INTEROP_MUC_DOMAIN=conference.plain.localhost
XMPP_INTEROP_CA=$dir/ca.pem
XMPP_INTEROP_SERVER_CERT=$dir/server.crt
XMPP_INTEROP_SELF_SIGNED_CERT=$dir/self.crt
XMPP_INTEROP_USERS=$(IFS=,; echo "${creds[*]}")
EOF
  chmod a+r "$dir/env"
  echo "ejabberd up on 127.0.0.1:$c2s (plaintext allowed $plain, direct TLS $tls); environment in $dir/env"
}

cmd_stop() {
  local dir=${1:?usage: ejabberd.sh stop DIR}
  [[ -f $dir/ejabberdctl.cfg ]] || return 0
  dir=$(cd "$dir" && pwd)
  # SIGTERM makes the Erlang VM stop cleanly (ejabberd logs "is stopped"),
  # and costs no extra VM as `ejabberdctl stop` does (which also returns
  # before the node is gone). The pid file (EJABBERD_PID_PATH) names the
  # process; it gets 10 s before SIGKILL.
  local pid=""
  [[ -f $dir/ejabberd.pid ]] && pid=$(cat "$dir/ejabberd.pid")
  if [[ -z $pid ]] || ! $SUDO kill -0 "$pid" 2>/dev/null; then
    ctl "$dir" stop >/dev/null 2>&1 || true
    return 0
  fi
  $SUDO kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do $SUDO kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  $SUDO kill -KILL "$pid" 2>/dev/null || true
}

case ${1:-} in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
