package redis

import (
	"embed"

	goredis "github.com/redis/go-redis/v9"
)

// luaFS holds the Lua scripts; each atomic multi-key operation is one of them (STYLE §2).
//
//go:embed *.lua
var luaFS embed.FS

// scripts are the loaded scripts of one Store. redis.Script runs EVALSHA and falls back to
// EVAL when the server does not know the script yet (after a restart or failover).
type scripts struct {
	hsetNX, redeemCode                                           *goredis.Script
	createAPIKey, deleteAPIKey                                   *goredis.Script
	createGrant, activeGrant, revokeGrant, recordUse, listGrants *goredis.Script
	issueTokens, lookupAccess, lookupRefresh, rotateRefresh      *goredis.Script
	revokeFamily, revokeSubject, checkDelegated, useOnce         *goredis.Script
	ensureAccount, elevations, hit                               *goredis.Script
	appendAudit, auditPage, auditPageAll, trimAudit              *goredis.Script
	enqueue, claim, ack, retry                                   *goredis.Script
	initKey, rotateKey, listKeys, deleteKey                      *goredis.Script
}

// loadScripts reads every script from luaFS. A missing file is a build defect, caught by
// every test, so it panics.
func loadScripts() *scripts {
	l := func(name string) *goredis.Script {
		b, err := luaFS.ReadFile(name + ".lua")
		if err != nil {
			panic("redis store: missing embedded script " + name)
		}
		return goredis.NewScript(string(b))
	}
	return &scripts{
		hsetNX: l("hset_nx"), redeemCode: l("redeem_code"),
		createAPIKey: l("create_apikey"), deleteAPIKey: l("delete_apikey"),
		createGrant: l("create_grant"), activeGrant: l("active_grant"), revokeGrant: l("revoke_grant"),
		recordUse: l("record_grant_use"), listGrants: l("list_grants"),
		issueTokens: l("issue_tokens"), lookupAccess: l("lookup_access"),
		lookupRefresh: l("lookup_refresh"), rotateRefresh: l("rotate_refresh"),
		revokeFamily: l("revoke_family"), revokeSubject: l("revoke_subject"), checkDelegated: l("check_delegated"), useOnce: l("use_once"),
		ensureAccount: l("ensure_account"), elevations: l("elevations"), hit: l("hit"),
		appendAudit: l("append_audit"), auditPage: l("audit_page"), auditPageAll: l("audit_page_all"),
		trimAudit: l("trim_audit"),
		enqueue:   l("enqueue_deliveries"), claim: l("claim_delivery"), ack: l("ack_delivery"),
		retry:   l("retry_delivery"),
		initKey: l("init_signing_key"), rotateKey: l("rotate_signing_key"),
		listKeys: l("list_signing_keys"), deleteKey: l("delete_signing_key"),
	}
}
