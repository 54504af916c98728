package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/broker/provider"
	"github.com/enterprise-connect/broker/store"
)

// Options are the plain values a Broker needs (STYLE §6: never the whole Config).
type Options struct {
	Store     store.Store
	Providers []provider.Provider
	Sealer    *Sealer
	Logger    *slog.Logger
	Now       func() time.Time // nil: time.Now

	Issuer                 string
	CodeTTL                time.Duration // SPEC §2, default 300 s
	AccessTokenTTL         time.Duration // SPEC §3, default 1800 s
	DelegatedTokenTTL      time.Duration // SPEC §4, default 600 s
	DelegatedTokenAudience string        // default the issuer
	SigningAlgorithm       string        // EdDSA | ES256
	AllowInsecureCallbacks bool
	AuditRetention         time.Duration
	RateLimits             RateLimits
	HTTPClient             *http.Client // outgoing calls (callbacks); must have a timeout
}

// RateLimit is one fixed-window limit; Limit 0 disables it.
type RateLimit struct {
	Limit  int64
	Window time.Duration
}

// RateLimits are the limits on what attackers do (SPEC §10).
type RateLimits struct {
	SigninPerAccount    RateLimit
	SigninPerIP         RateLimit
	ClientAuthPerClient RateLimit
	ClientAuthPerIP     RateLimit
	AuthorizePerIP      RateLimit
}

// Broker carries out SPEC.md. Build it with New; safe for concurrent use.
type Broker struct {
	opts      Options
	store     store.Store
	providers map[string]provider.Provider
	log       *slog.Logger
	now       func() time.Time
	audit     *Recorder
	keys      *Keyring
	grants    grantCache
	clients   clientCache
	elev      elevationCache
	blocks    blocks
	usage     usage
	wake      chan struct{} // nudges RunDeliveries when work is queued
}

// New builds a Broker and loads (or creates) the signing keys.
func New(ctx context.Context, o Options) (*Broker, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// The SPEC's defaults (§2, §3, §4), for embedders that leave the TTLs unset.
	if o.CodeTTL <= 0 {
		o.CodeTTL = 300 * time.Second
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = 1800 * time.Second
	}
	if o.DelegatedTokenTTL <= 0 {
		o.DelegatedTokenTTL = 600 * time.Second
	}
	if o.DelegatedTokenAudience == "" {
		o.DelegatedTokenAudience = o.Issuer
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }} // a 3xx from a callback_url is a failed delivery (SPEC §5), never followed
	}
	b := &Broker{
		opts:      o,
		store:     o.Store,
		providers: map[string]provider.Provider{},
		log:       o.Logger,
		now:       o.Now,
		audit:     NewRecorder(o.Store, o.Now),
		wake:      make(chan struct{}, 1),
	}
	for _, p := range o.Providers {
		d := strings.ToLower(p.Domain())
		if _, dup := b.providers[d]; dup {
			return nil, fmt.Errorf("domain %s configured twice", d)
		}
		b.providers[d] = p
	}
	// Per-subject access tokens live 3600 s (SPEC §5); keys outlive the longest token.
	maxTTL := max(o.DelegatedTokenTTL, time.Hour)
	b.keys = NewKeyring(o.Store, o.Sealer, o.SigningAlgorithm, maxTTL, o.Now)
	if err := b.keys.Load(ctx); err != nil {
		var be *Error
		if !errors.As(err, &be) || be.Code != TemporarilyUnavailable {
			return nil, fmt.Errorf("loading signing keys: %w", err)
		}
		// The store is down at start (SPEC §10): serve anyway, answer 503 until it is back;
		// Keys().Refresh, called by the housekeeping loop, loads the keys then.
		b.log.WarnContext(ctx, "store unreachable at start; signing keys load when it returns", "err", err)
	}
	return b, nil
}

// Keys is the broker's signing keyring (JWKS, rotation).
func (b *Broker) Keys() *Keyring { return b.keys }

// Ready reports whether the store answers (SPEC §10 /readyz).
func (b *Broker) Ready(ctx context.Context) error {
	if err := b.store.Ping(ctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// Issuer is the broker's public base URL.
func (b *Broker) Issuer() string { return b.opts.Issuer }

// Domains lists the configured domains.
func (b *Broker) Domains() []string {
	out := make([]string, 0, len(b.providers))
	for d := range b.providers {
		out = append(out, d)
	}
	return out
}

// Meta carries who asked, for the audit trail.
type Meta struct {
	IP        string
	RequestID string
}
