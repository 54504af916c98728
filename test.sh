#!/usr/bin/env bash
# Runs every test of the repository: go test -race -count=1 ./...
#
# It first makes sure a Redis answers on 127.0.0.1:6379 (installing redis-server with apt-get
# when needed and possible) and exports REDIS_URL, so the Redis store's conformance suite and
# the broker-on-Redis end-to-end test run against a real Redis, not only miniredis. Where no
# Redis can be had (no apt-get, not root), it says so and the tests run without REDIS_URL:
# those parts log that they did not run.
#
# Usage: ./test.sh [go test flags…] [./packages…]   e.g. ./test.sh -v -run TestDemo ./test/
#
# .ci/run sources this file for ensure_redis (main does not run when sourced).
set -euo pipefail

REDIS_HOST=127.0.0.1
REDIS_PORT=6379

# as_root runs a command as root: directly when we are root, else through sudo -n.
as_root() {
	if [[ $(id -u) -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		sudo -n "$@"
	else
		return 1
	fi
}

redis_answers() {
	command -v redis-cli >/dev/null 2>&1 && redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
}

# ensure_redis [strict]: makes sure Redis answers on 127.0.0.1:6379 and exports REDIS_URL.
# A REDIS_URL already set and answering is kept. With "strict", failing to get a Redis is
# fatal; otherwise it warns and unsets REDIS_URL.
ensure_redis() {
	local strict=${1:-}
	if [[ -n ${REDIS_URL:-} ]] && command -v redis-cli >/dev/null 2>&1 && redis-cli -u "$REDIS_URL" ping 2>/dev/null | grep -q PONG; then
		echo "test.sh: using the Redis at REDIS_URL"
		export REDIS_URL
		return 0
	fi
	if ! redis_answers; then
		if ! command -v redis-server >/dev/null 2>&1; then
			echo "test.sh: installing redis-server (apt-get)"
			if ! { command -v apt-get >/dev/null 2>&1 &&
				as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
				as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }; then
				no_redis "$strict" "cannot install redis-server (needs apt-get and root or passwordless sudo)"
				return $?
			fi
		fi
		echo "test.sh: starting redis-server on $REDIS_HOST:$REDIS_PORT"
		redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no >/dev/null || true # the answer below decides
		local i
		for ((i = 0; i < 100; i++)); do
			redis_answers && break
			sleep 0.1
		done
		if ! redis_answers; then
			no_redis "$strict" "redis-server did not answer on $REDIS_HOST:$REDIS_PORT within 10 s"
			return $?
		fi
	fi
	export REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT"
	echo "test.sh: REDIS_URL=$REDIS_URL"
}

no_redis() {
	if [[ $1 == strict ]]; then
		echo "test.sh: $2" >&2
		exit 1
	fi
	echo "test.sh: WARNING: $2; running the tests without REDIS_URL (the real-Redis parts log that they did not run)" >&2
	unset REDIS_URL
	return 0
}

main() {
	cd "$(dirname "${BASH_SOURCE[0]}")"
	command -v go >/dev/null 2>&1 || { echo "test.sh: go is not installed (need Go $(sed -n 's/^go //p' go.mod))" >&2; exit 1; }
	if [[ ${CI:-} == true ]]; then
		ensure_redis strict
	else
		ensure_redis
	fi
	local race=-race
	if [[ $(go env CGO_ENABLED) != 1 ]] || ! command -v "$(go env CC)" >/dev/null 2>&1; then
		if [[ ${CI:-} == true ]]; then
			echo "test.sh: the race detector needs cgo and a C compiler ($(go env CC)); CI runs with -race" >&2
			exit 1
		fi
		echo "test.sh: WARNING: no C compiler for the race detector; running without -race" >&2
		race=
	fi
	# Packages default to ./... unless the arguments name some (./x, ./x/...).
	local args=("$@") a pkgs=
	for a in "${args[@]}"; do
		[[ $a == ./* ]] && pkgs=yes
	done
	[[ -n $pkgs ]] || args+=(./...)
	set -x
	go test $race -count=1 "${args[@]}"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	main "$@"
fi
