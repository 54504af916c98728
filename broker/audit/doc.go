// Package audit owns the audit hash chain's arithmetic (SPEC §9): the canonical JSON of an
// event (RFC 8785 for string-only objects), its SHA-256 hash, and verification of a chain
// read from the store or from an NDJSON export. It imports the standard library and store
// (for the record type) only, so an auditor can read it as the reference for the few lines
// needed to re-verify an export.
package audit
