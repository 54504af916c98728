// Package configs owns the broker's configuration (SPEC §10, STYLE §6): the
// Config struct, loading it (defaults → one YAML file, strictly → BROKER_*
// and REDIS_URL overrides → derived defaults → Validate), validation that
// reports every problem with its source, key path and fix, the Duration and
// Secret value types, and the example file broker.example.yaml.
//
// Components never receive a Config: cmd/broker reads it and hands each
// component the plain values it needs (a time.Duration, a URL). The demo
// bootstrap of `go run ./cmd/broker` (the static demo domain, its
// directory and the demo client) belongs to cmd/broker, not here: a
// Config with zero domains is valid.
//
// configs may import only the standard library, the YAML library
// (go.yaml.in/yaml/v3) and package scopes (STYLE §1); test/deps_test.go
// enforces it. It imports nothing of the broker today.
package configs
