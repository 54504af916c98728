package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/enterprise-connect/broker/broker"
	"github.com/enterprise-connect/broker/configs"
	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
	"github.com/enterprise-connect/broker/store/embedded"
	redisstore "github.com/enterprise-connect/broker/store/redis"
)

// fixture is what the bench set up in the broker's store: its own client and grant, and
// codes for it. Documented fast path (issue 6): codes are written with the store's PutCode,
// exactly the record the consent step writes, so redemption exercises the same store
// operations as after a real approval; the HTTP authorize flow is not what is measured.
type fixture struct {
	o        options
	store    store.Store
	http     *http.Client
	clientID string
	secret   string
	grant    store.Grant
	redirect string
	subject  string
	access   string // a service-account access token of the grant
}

const benchRedirect = "https://bench.invalid/callback"

func bootstrap(ctx context.Context, o options) (*fixture, error) {
	cfg, err := configs.Load(o.config, os.Getenv)
	if err != nil {
		return nil, err
	}
	fx := &fixture{o: o, http: newHTTPClient(), redirect: benchRedirect}
	if u := cfg.RedisURL.Reveal(); u != "" {
		fx.store, err = redisstore.Open(ctx, u, redisstore.Options{PoolSize: 256})
	} else {
		fx.store, err = embedded.Open(ctx, filepath.Join(cfg.DataDir, "broker.db"))
	}
	if err != nil {
		return nil, err
	}
	if o.seedGrants > 0 || o.seedEvents > 0 {
		return fx, nil
	}
	if len(cfg.Domains) == 0 {
		return nil, fmt.Errorf("%s configures no domain", o.config)
	}
	domain := cfg.Domains[0].Domain
	fx.subject = o.subject
	if fx.subject == "" {
		fx.subject = "alice@" + domain
	}
	kek, err := broker.LoadKEK(cfg.KeyEncryptionKeyFile, false)
	if err != nil {
		return nil, err
	}
	sealer, err := broker.NewSealer(kek)
	if err != nil {
		return nil, err
	}
	creds, err := broker.CreateClient(ctx, fx.store, sealer, broker.ClientSpec{
		Name: "bench", RedirectURIs: []string{benchRedirect},
		Scope: strings.Join(scopes.ServiceAccountScopes(), " "), DelegatedScope: "read_write read_contacts read_directory",
	}, time.Now)
	if err != nil {
		return nil, err
	}
	fx.clientID, fx.secret = creds.ClientID, creds.ClientSecret
	sa, _ := scopes.ParseServiceAccount(strings.Join(scopes.ServiceAccountScopes(), " "))
	del, _ := scopes.ParseDelegated("read_write read_contacts read_directory")
	fx.grant = store.Grant{ID: "ser_" + base62(24), ClientID: fx.clientID, Domain: domain, Scope: sa.String(),
		DelegatedScope: del.String(), ApprovedBy: "bench", ApprovedAt: time.Now().UTC(), Status: store.GrantActive}
	if _, err := fx.store.CreateGrant(ctx, fx.grant); err != nil {
		return nil, err
	}
	codes, err := fx.putCodes(ctx, 1)
	if err != nil {
		return nil, err
	}
	tok, err := fx.redeem(ctx, <-codes)
	if err != nil {
		return nil, fmt.Errorf("redeeming the first code at %s: %w", o.target, err)
	}
	fx.access = tok.AccessToken
	return fx, nil
}

func (fx *fixture) close() { fx.store.Close() }

// putCodes writes n fresh codes of the bench grant, in parallel, and returns them.
func (fx *fixture) putCodes(ctx context.Context, n int) (chan string, error) {
	out := make(chan string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	per := (n + 31) / 32
	for w := 0; w < 32 && w*per < n; w++ {
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			for i := from; i < to && i < n; i++ {
				code := base62(32)
				sum := sha256.Sum256([]byte(code))
				err := fx.store.PutCode(ctx, store.Code{Hash: hex.EncodeToString(sum[:]), ClientID: fx.clientID,
					RedirectURI: fx.redirect, RedirectURIGiven: true, GrantID: fx.grant.ID, Domain: fx.grant.Domain,
					FamilyID: "fam_" + base62(24), Scope: fx.grant.Scope, ExpiresAt: time.Now().Add(9 * time.Minute)})
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				out <- code
			}
		}(w*per, (w+1)*per)
	}
	wg.Wait()
	return out, firstErr
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (fx *fixture) redeem(ctx context.Context, code string) (tokenResponse, error) {
	return fx.token(ctx, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {fx.redirect}})
}

func (fx *fixture) token(ctx context.Context, form url.Values) (tokenResponse, error) {
	var t tokenResponse
	err := fx.post(ctx, "/oauth/token", "application/x-www-form-urlencoded", []byte(form.Encode()), true, &t)
	return t, err
}

// post sends one request: Basic client authentication (basic) or the bench grant's bearer.
// get sends an unauthenticated GET and checks for 200.
func (fx *fixture) get(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fx.o.target+path, nil)
	if err != nil {
		return err
	}
	resp, err := fx.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	return nil
}

func (fx *fixture) post(ctx context.Context, path, ctype string, body []byte, basic bool, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fx.o.target+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	if basic {
		req.SetBasicAuth(url.QueryEscape(fx.clientID), url.QueryEscape(fx.secret))
	} else {
		req.Header.Set("Authorization", "Bearer "+fx.access)
	}
	resp, err := fx.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		if len(b) > 200 {
			b = b[:200]
		}
		return fmt.Errorf("%s: HTTP %d %s", path, resp.StatusCode, b)
	}
	if into != nil {
		return json.Unmarshal(b, into)
	}
	return nil
}

func base62(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		x, _ := rand.Int(rand.Reader, big.NewInt(62))
		b[i] = alphabet[x.Int64()]
	}
	return string(b)
}
