// Package store owns the persistence contract of the broker: the Store interface, grouped in
// role interfaces (Clients, Codes, Tokens, Grants, Audit, Deliveries, …), the record types it
// keeps and the sentinel errors it returns.
//
// Every method is one step of a flow (PutCode, ConsumeCode, RotateRefresh, RevokeGrant,
// AppendAudit, ClaimDelivery); anything that must be atomic is one method call. Records hold
// hashes, never secrets. Expiry is decided with the now the caller passes in; backend TTLs
// and sweeps are only housekeeping.
//
// Backends live in store/embedded (SQLite) and store/redis; store/storetest is the conformance
// suite both pass. This package imports the standard library only.
package store
