// Package broker holds every rule of SPEC.md: clients and API keys, the admin authorization
// flow and its single-use codes, the token endpoint (codes, refresh rotation, client
// authentication), revocation and introspection, delegated tokens, the audit hash chain.
//
// It talks to the world through store.Store (persistence), provider.Provider (directories)
// and returns *Error / *ValidationError with the spec's codes; it never imports echo, a
// net/http server type or a store backend (STYLE §1). handlers turns its answers into HTTP.
package broker
