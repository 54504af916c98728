package broker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/enterprise-connect/broker/store"
)

// Callback delivery (SPEC §5): retried on any non-2xx or timeout, first retry within 10 s,
// doubling to at most 1 h, for 24 h; queued in the store, so a crash loses nothing.
const (
	firstRetry      = 5 * time.Second
	maxRetry        = time.Hour
	deliveryLease   = time.Minute
	deliveryPoll    = 500 * time.Millisecond
	signatureHeader = "X-Broker-Signature"
)

// wakeDeliveries tells this process's delivery loop that work was queued.
func (b *Broker) wakeDeliveries() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// RunDeliveries sends queued callbacks until ctx ends. Every replica may run it: the store
// leases each delivery to one sender at a time.
func (b *Broker) RunDeliveries(ctx context.Context) {
	t := time.NewTicker(deliveryPoll)
	defer t.Stop()
	for {
		for ctx.Err() == nil && b.deliverOne(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.wake:
		}
	}
}

// deliverOne claims and attempts one due delivery; it reports whether there was one.
func (b *Broker) deliverOne(ctx context.Context) bool {
	d, err := b.store.ClaimDelivery(ctx, b.now(), deliveryLease)
	if errors.Is(err, store.ErrNotFound) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			b.log.WarnContext(ctx, "claiming a callback delivery failed", "err", err)
		}
		return false
	}
	status, sendErr := b.send(ctx, d)
	ev := Event{Domain: d.Domain, ClientID: d.ClientID, GrantID: d.GrantID, Subject: d.Subject}
	if sendErr == nil {
		ev.Type = EvCallbackDelivered
		if err := b.audit.Record(ctx, ev); err != nil {
			// Unacknowledged, the delivery comes back when its lease ends: at least once.
			b.log.ErrorContext(ctx, "auditing a callback delivery failed", "err", err)
			return true
		}
		if err := b.store.AckDelivery(ctx, d.ID); err != nil {
			b.log.WarnContext(ctx, "acknowledging a callback delivery failed", "err", err)
		}
		return true
	}
	attempts := d.Attempts + 1
	next := b.now().Add(backoff(attempts))
	if next.After(d.GiveUpAt) {
		ev.Type, ev.Result, ev.Error = EvCallbackFailed, resultFailure, "gave up after "+strconv.Itoa(attempts)+" attempts: "+sendErr.Error()
		if err := b.audit.Record(ctx, ev); err != nil {
			b.log.ErrorContext(ctx, "auditing a failed callback failed", "err", err)
		}
		if err := b.store.AckDelivery(ctx, d.ID); err != nil {
			b.log.WarnContext(ctx, "dropping a callback delivery failed", "err", err)
		}
		return true
	}
	b.log.InfoContext(ctx, "callback delivery will be retried", "client_id", d.ClientID, "status", status, "attempts", attempts)
	if err := b.store.RetryDelivery(ctx, d.ID, attempts, next); err != nil {
		b.log.WarnContext(ctx, "rescheduling a callback delivery failed", "err", err)
	}
	return true
}

// backoff is the wait before attempt n+1: 5 s, 10 s, 20 s … at most 1 h.
func backoff(attempts int) time.Duration {
	d := firstRetry
	for i := 1; i < attempts && d < maxRetry; i++ {
		d *= 2
	}
	return min(d, maxRetry)
}

// send POSTs one delivery, signed with the client's callback secret.
func (b *Broker) send(ctx context.Context, d store.Delivery) (int, error) {
	client, err := b.store.GetClient(ctx, d.ClientID)
	if err != nil {
		return 0, err
	}
	secret, err := b.opts.Sealer.Open(client.CallbackSecret, sealLabelCallbackSecret)
	if err != nil {
		return 0, err
	}
	body, err := b.codeForDelivery(ctx, d)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(signatureHeader, Signature(secret, b.now(), body))
	resp, err := b.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, errors.New("callback answered HTTP " + strconv.Itoa(resp.StatusCode))
	}
	return resp.StatusCode, nil
}

// Signature is the X-Broker-Signature of a callback (SPEC §5): t=<unix>,v1=<hex
// HMAC-SHA256 of "t.body" keyed with the callback secret>.
func Signature(secret []byte, at time.Time, body []byte) string {
	t := strconv.FormatInt(at.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(t))
	m.Write([]byte{'.'})
	m.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(m.Sum(nil))
}
