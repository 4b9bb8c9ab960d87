# Sourced by the runners of outside clients (tests/*/run.sh): starts `cohort serve` ($bin)
# on a free port over a fresh SQLite database in a temp dir, waits until it is ready, and
# sets `data` (the data dir, for `cohort keys create --data-dir`) and `url`. The server is
# stopped and the dir removed when the runner exits. A runner may set the array `serve_args`
# first, for more `serve` options.
data="$(mktemp -d)"
out="$data/serve.out"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
"$bin" serve --listen 127.0.0.1:0 --data-dir "$data" ${serve_args[@]+"${serve_args[@]}"} > "$out" 2>/dev/null &
pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$out" 2>/dev/null && break; sleep 0.1; done
url="$(sed -n 's/.*listening on //p' "$out" | head -n 1)"
# It listens at once and answers /readyz 503 until its access index is built.
for _ in $(seq 1 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.1; done
