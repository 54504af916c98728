package broker

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/enterprise-connect/broker/scopes"
	"github.com/enterprise-connect/broker/store"
)

// Per-subject authorization (SPEC §5, Cronofy's service_account_authorizations).
const (
	MaxSubjectAuthorizations = 50
	// SubjectTokenTTL is the lifetime of a per-subject access token (SPEC §5).
	SubjectTokenTTL = time.Hour
	// deliveryWindow is how long a callback is retried (SPEC §5: 24 h).
	deliveryWindow = 24 * time.Hour
)

// SubjectAuthorization is one requested per-subject authorization (SPEC §5).
type SubjectAuthorization struct {
	Email       *string `json:"email"`
	Scope       *string `json:"scope"`
	CallbackURL *string `json:"callback_url"`
	State       *string `json:"state"`
}

// callbackBody is what the callback_url receives.
type callbackBody struct {
	Authorization callbackAuthorization `json:"authorization"`
}

// queuedCallback is a queued delivery's body: the callback, and for a success the code to
// make at each attempt.
type queuedCallback struct {
	Code          *queuedCode           `json:"code,omitempty"`
	Authorization callbackAuthorization `json:"authorization"`
}

// queuedCode is what a per-subject code is for; it holds no secret.
type queuedCode struct {
	Subject string          `json:"subject"`
	Kind    store.TokenKind `json:"kind"`
	Scope   string          `json:"scope"`
}

// codeForDelivery turns a queued body into the body to send: for a success it makes a fresh
// single-use code, valid for code_ttl from this attempt (SPEC §5).
func (b *Broker) codeForDelivery(ctx context.Context, d store.Delivery) ([]byte, error) {
	var q queuedCallback
	if err := json.Unmarshal(d.Body, &q); err != nil {
		return nil, err
	}
	if q.Code != nil {
		code := NewCode()
		c := store.Code{Hash: HashSecret(code), ClientID: d.ClientID, RedirectURI: d.URL, RedirectURIGiven: true,
			GrantID: d.GrantID, Domain: d.Domain, FamilyID: newID("fam_"), Subject: q.Code.Subject, SubjectKind: q.Code.Kind,
			Scope: q.Code.Scope, ExpiresAt: b.now().UTC().Add(b.opts.CodeTTL)}
		if err := b.store.PutCode(ctx, c); err != nil {
			return nil, err
		}
		q.Authorization.Code = code
	}
	return json.Marshal(callbackBody{Authorization: q.Authorization})
}

type callbackAuthorization struct {
	Code             string `json:"code,omitempty"`
	Error            string `json:"error,omitempty"`
	ErrorKey         string `json:"error_key,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
	State            string `json:"state"`
}

// RequestSubjectAuthorizations serves POST /v1/service_account_authorizations: it validates
// every item (any problem: a *ValidationError, nothing queued), then checks each subject as
// §4 does and queues one signed callback per item carrying a single-use code or an
// access_denied error. The caller answers 202.
func (b *Broker) RequestSubjectAuthorizations(ctx context.Context, c *Caller, items []SubjectAuthorization, m Meta) error {
	if err := serviceAccount(c); err != nil {
		return err
	}
	g := c.Grant
	var v ValidationError
	if len(items) == 0 || len(items) > MaxSubjectAuthorizations {
		v.Add("service_account_authorizations", "length", "send 1 to 50 authorizations")
		return &v
	}
	ceiling, _ := scopes.ParseDelegated(g.DelegatedScope)
	for i, it := range items {
		at := "[" + strconv.Itoa(i) + "] "
		if it.Email == nil || strings.TrimSpace(*it.Email) == "" {
			v.Add("email", "required", at+"email is required")
		}
		if it.CallbackURL == nil || *it.CallbackURL == "" {
			v.Add("callback_url", "required", at+"callback_url is required")
		} else if err := b.checkCallbackURL(*it.CallbackURL); err != nil {
			v.Add("callback_url", "invalid", at+err.Error())
		}
		if it.Scope != nil && strings.TrimSpace(*it.Scope) != "" {
			s, err := scopes.ParseDelegated(*it.Scope)
			if err != nil {
				v.Add("scope", "invalid", at+err.Error())
			} else if !s.Within(ceiling) {
				v.Add("scope", "outside_ceiling", at+"scope asks for "+s.Minus(ceiling).String()+", outside the grant's delegated scope")
			}
		}
	}
	if err := v.OrNil(); err != nil {
		return err
	}
	client, err := b.store.GetClient(ctx, g.ClientID)
	if err != nil {
		return storeErr("get client", err)
	}
	now := b.now().UTC()
	var ds []store.Delivery
	for _, it := range items {
		body := queuedCallback{Authorization: callbackAuthorization{State: deref(it.State)}}
		subj, set, serr := b.subjectCheck(ctx, g, MintRequest{Sub: *it.Email, Scope: deref(it.Scope)})
		switch {
		case serr != nil && serr.Code == TemporarilyUnavailable:
			return serr
		case serr != nil:
			key := "subject_not_allowed"
			if errors.Is(serr, errUnknownSubject) {
				key = "unknown_subject"
			}
			body.Authorization.Error, body.Authorization.ErrorKey = string(AccessDenied), key
			body.Authorization.ErrorDescription = serr.Description
		default:
			kind := store.KindAccount
			if subj.Kind == "resource" {
				kind = store.KindResource
			}
			// The code itself is made when the callback is sent (codeForDelivery), so a
			// retried delivery never carries a code that expired while it waited.
			body.Code = &queuedCode{Subject: subj.Email, Kind: kind, Scope: set.String()}
		}
		raw, _ := json.Marshal(body)
		ds = append(ds, store.Delivery{ID: newID("dlv_"), ClientID: client.ID, GrantID: g.ID, Domain: g.Domain,
			Subject: strings.ToLower(*it.Email), URL: *it.CallbackURL, Body: raw, CreatedAt: now, NextAt: now,
			GiveUpAt: now.Add(deliveryWindow)})
	}
	if err := b.store.EnqueueDeliveries(ctx, ds); err != nil {
		return storeErr("enqueue deliveries", err)
	}
	b.wakeDeliveries()
	return nil
}

// checkCallbackURL enforces SPEC §5: https, or http to a loopback host when
// allow_insecure_callbacks is set.
func (b *Broker) checkCallbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("callback_url must be an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		ip := net.ParseIP(host)
		if b.opts.AllowInsecureCallbacks && (host == "localhost" || ip != nil && ip.IsLoopback()) {
			return nil
		}
		return errors.New("callback_url must be https (http only to loopback with allow_insecure_callbacks)")
	}
	return errors.New("callback_url must be https")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// redeemSubjectCode exchanges a per-subject code (SPEC §5): a delegated JWT living one hour
// and a refresh token for that subject only, both tied to the code's family and the grant.
func (b *Broker) redeemSubjectCode(ctx context.Context, client store.Client, c store.Code, m Meta) (*TokenResponse, error) {
	g, err := b.activeGrant(ctx, c.GrantID)
	if err != nil {
		return nil, err
	}
	now := b.now().UTC()
	refresh := newSecret()
	f := store.Family{ID: c.FamilyID, GrantID: g.ID, ClientID: client.ID, Domain: g.Domain, Kind: c.SubjectKind, Subject: c.Subject}
	rt := store.RefreshToken{Hash: HashSecret(refresh), FamilyID: c.FamilyID, GrantID: g.ID, ClientID: client.ID, Domain: g.Domain,
		Kind: c.SubjectKind, Subject: c.Subject, Scope: c.Scope, DelegatedScope: g.DelegatedScope, IssuedAt: now}
	if err := b.store.IssueTokens(ctx, f, nil, &rt); err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, storeErr("issue tokens", err)
	}
	// ErrNotFound: a concurrent reuse of the code revoked the family; as for admin codes
	// (issueServiceAccountTokens) this redemption still wins, with tokens dead on arrival
	// (the refresh token was not stored; the JWT names the revoked family).
	if err := b.audit.Record(ctx, Event{Type: EvCodeRedeemed, Domain: g.Domain, ClientID: client.ID, GrantID: g.ID,
		Subject: c.Subject, Scope: c.Scope, IP: m.IP, RequestID: m.RequestID}); err != nil {
		return nil, err
	}
	return b.subjectTokens(ctx, g, c.Subject, c.Scope, c.FamilyID, refresh, m)
}

// subjectTokens mints the per-subject access token and builds the Cronofy-shaped response.
func (b *Broker) subjectTokens(ctx context.Context, g store.Grant, subject, scope, family, refresh string, m Meta) (*TokenResponse, error) {
	out, err := b.mint(ctx, g, []MintRequest{{Sub: subject, Scope: scope}}, m, family, SubjectTokenTTL)
	if err != nil {
		return nil, err
	}
	if e := out[0].err; e != nil {
		return nil, errorf(InvalidGrant, "%s", e.Description)
	}
	acc, err := b.store.EnsureAccount(ctx, store.Account{ID: newID("acc_"), ProfileID: newID("pro_"), Domain: g.Domain, Subject: subject})
	if err != nil {
		return nil, storeErr("ensure account", err)
	}
	prov := ""
	if p, ok := b.providers[g.Domain]; ok {
		prov = p.Name()
	}
	minted := out[0].Minted
	return &TokenResponse{TokenType: "bearer", AccessToken: minted.AccessToken, ExpiresIn: minted.ExpiresIn,
		RefreshToken: refresh, Scope: minted.Scope, Sub: acc.ID, AccountID: acc.ID,
		LinkingProfile: &LinkingProfile{ProviderName: prov, ProfileID: acc.ProfileID, ProfileName: subject}}, nil
}
