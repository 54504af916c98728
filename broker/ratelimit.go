package broker

import (
	"context"
	"math"
)

// throttled reports, without counting, whether key has used up l in the current window; the
// answer is a too_many_requests *Error with Retry-After, or nil. Only failures are counted
// (countFailure), so healthy traffic never meets a limit (SPEC §10).
func (b *Broker) throttled(ctx context.Context, l RateLimit, key, what string) error {
	if l.Limit <= 0 || l.Window <= 0 {
		return nil
	}
	n, err := b.store.Count(ctx, key, l.Window, b.now())
	if err != nil {
		return storeErr("rate limit", err)
	}
	if n < l.Limit {
		return nil
	}
	now := b.now()
	end := now.Truncate(l.Window).Add(l.Window)
	secs := int(math.Ceil(end.Sub(now).Seconds()))
	return &Error{Code: TooManyRequests, Description: "too many failed " + what + "; try again later", RetryAfter: max(secs, 1)}
}

// countFailure adds one failure to key's window.
func (b *Broker) countFailure(ctx context.Context, l RateLimit, key string) error {
	if l.Limit <= 0 || l.Window <= 0 {
		return nil
	}
	if _, _, err := b.store.Hit(ctx, key, l.Window, b.now()); err != nil {
		return storeErr("rate limit", err)
	}
	return nil
}
