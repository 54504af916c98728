// Package static is the "static" provider (SPEC §6): one domain's directory read from a YAML
// file (shape in SPEC §10) — its administrators, its users with their groups and calendars, and
// its resources (rooms). Sign-in is email + bcrypt-hashed password; there is no upstream token
// service.
//
// A *Directory is immutable once Load or Parse returns it and is safe for concurrent use.
// Lookups (Subject) are map reads that do not allocate: they sit on the hot path of delegated
// minting. GenerateDemo writes the demo directory used by the embedded first start (SPEC §10).
//
// The package implements broker/provider and may import only that package, the YAML library,
// golang.org/x/crypto/bcrypt and the standard library; it must not import handlers, store or
// configs.
package static
