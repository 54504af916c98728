// Package scopes owns the broker's scope vocabulary (SPEC §1): the four service-account scopes,
// the delegated scopes (granular ones and the shorthands that expand to them), strict parsing,
// expansion to the stored sorted form, the "A within B" test, the plain-language description of
// every scope (consent page, SPEC §2; `broker scopes explain`, SPEC §10) and the mapping of a
// delegated set to the fewest Google OAuth scopes that cover it.
//
// A parsed scope list is a Set: always expanded, de-duplicated and sorted, a small value type
// (a bitset inside) that is cheap to copy and compare, because parsing and "within" run on every
// token mint. Callers store and report Set.String(). The package holds no mutable state, so
// everything in it is safe for concurrent use.
//
// This package imports the standard library only; configs, handlers and broker all use it, so it
// must never import any of them.
package scopes
