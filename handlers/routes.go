package handlers

import (
	"strings"

	"github.com/enterprise-connect/broker/broker"
)

// RouteOptions are the few facts the routes need beyond the broker.
type RouteOptions struct {
	// DemoCallback registers GET /demo/callback, the demo client's redirect URI (the
	// embedded demo of SPEC §10).
	DemoCallback bool
}

// Register adds every endpoint of SPEC.md to s.
func Register(s *Server, b *broker.Broker, o RouteOptions) {
	e := s.Echo
	pages := loadPages()
	tok := &tokenEndpoints{broker: b}
	e.POST("/oauth/token", tok.token)
	e.POST("/oauth/token/revoke", tok.revoke)
	e.POST("/oauth/introspect", tok.introspect)
	e.GET("/.well-known/oauth-authorization-server", tok.metadata)
	e.GET("/.well-known/jwks.json", tok.jwks)
	e.GET("/assets/broker.css", stylesheet)

	flow := &authorizeFlow{broker: b, pages: pages, secureCookie: strings.HasPrefix(b.Issuer(), "https://")}
	e.GET(pathAuthorize, flow.authorize, htmlErrors)
	e.GET(pathConsent, flow.consentPage, htmlErrors)
	e.POST(pathConsent, flow.decide, htmlErrors)
	e.POST(pathSignIn, flow.signIn, htmlErrors)
	e.GET("/permissions/:id", flow.permissionsPage, htmlErrors)
	e.POST("/permissions/:id", flow.decidePermissions, htmlErrors)
	e.GET(pathAdmin, flow.adminPage, htmlErrors)
	e.POST(pathAdmin+"/grants/:id/revoke", flow.adminRevoke, htmlErrors)
	e.GET("/assets/admin.css", adminStylesheet)

	grants := &grantsAPI{broker: b}
	e.GET("/v1/grants", grants.list)
	e.GET("/v1/grants/:id", grants.get)
	e.DELETE("/v1/grants/:id", grants.revoke)
	audit := &auditAPI{broker: b}
	e.GET("/v1/audit", audit.list)
	e.GET("/v1/audit/export", audit.export)

	api := &delegatedAPI{broker: b}
	e.GET("/v1/userinfo", api.userinfo)
	e.GET("/v1/resources", api.resources)
	e.POST("/v1/delegated_tokens", api.mint)
	e.POST("/v1/upstream_tokens", api.upstream)
	e.POST("/v1/permissions", api.permissions)
	e.POST("/v1/service_account_authorizations", api.subjectAuthorizations)
	if o.DemoCallback {
		e.GET("/demo/callback", demoCallback(pages, b.Issuer()), htmlErrors)
	}
}
