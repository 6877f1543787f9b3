# shellcheck shell=bash
# The parts of PixHive's nginx ingress configuration that scripts/cluster (processes on loopback)
# and scripts/kube-play (podman kube play of the Helm chart) share: the proxy settings and one
# `location` per row of charts/pixhive/files/ingress-routes.tsv, each sent to the upstream named
# after its service. Each caller writes its own upstreams (addresses) and `listen`. Source it; it
# defines functions only.

# The http-level proxy settings (indented for the http block).
nginx_proxy_settings() {
  cat <<'EOF2'
  # Uploads go to the service as they arrive (it checks the limit from the header and answers
  # 413 before reading); bodies up to the services' --max-upload-mb (25 MiB).
  client_max_body_size 25m;
  proxy_request_buffering off;
  proxy_max_temp_file_size 0;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  proxy_connect_timeout 2s;
  proxy_read_timeout 60s;
  # A replica that refuses the connection (or does not answer in time) is skipped and the request
  # goes to the other one. Not for non-idempotent requests already sent (non_idempotent unset).
  proxy_next_upstream error timeout;
  proxy_next_upstream_tries 2;
EOF2
}

# nginx_route_locations ROUTES_TSV SERVICE...: a `location ~ "<regex>"` per route (in the file's
# order; nginx takes the first matching regex), proxied to the upstream named like its service;
# `stream` routes unbuffered with a long read timeout; anything else answers a JSON 404.
# Fails (message on stderr) on a route to a service not among SERVICE....
nginx_route_locations() {
  local routes=$1 re target flags
  shift
  while IFS=$'\t' read -r re target flags; do
    [ -z "$re" ] || [ "${re:0:1}" = "#" ] && continue
    # A here-string, not `printf | grep -q`: grep -q stops at its match, and under pipefail the
    # printf that then writes into the closed pipe fails the test (it did, in e2e.chaos).
    if ! grep -qxF "$target" <<<"$(printf '%s\n' "$@")"; then
      echo "$routes: unknown service '$target'" >&2
      return 1
    fi
    echo "    location ~ \"$re\" {"
    echo "      proxy_pass http://$target;"
    if [ "${flags:-}" = stream ]; then
      echo "      proxy_buffering off;"
      echo "      proxy_read_timeout 1h;"
    fi
    echo "    }"
  done <"$routes"
  cat <<'EOF2'
    location / {
      return 404 '{"error":{"code":"not_found","message":"no such route"}}';
    }
EOF2
}
