package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"sync/atomic"
)

// scenario builds one of SPEC §11's workloads, preparing what it consumes.
func (fx *fixture) scenario(ctx context.Context, name string, o options) (scenario, error) {
	switch name {
	case "redeem":
		// Codes are prepared before each measured step (never during one), as many as that
		// step can use: the previous step's rate with room to spare, so the store does not
		// fill up with unused codes that would then expire under the measurement.
		var codes chan string
		return scenario{name: "redeem",
			prepare: func(ctx context.Context, n int) error {
				fmt.Fprintf(os.Stderr, "  preparing %d codes …\n", n)
				c, err := fx.putCodes(ctx, n)
				codes = c
				return err
			},
			do: func(ctx context.Context, _ int) (int, error) {
				select {
				case c := <-codes:
					_, err := fx.redeem(ctx, c)
					return 1, err
				default:
					return 0, fmt.Errorf("out of prepared codes")
				}
			}}, nil
	case "refresh":
		pool, err := fx.refreshPool(ctx, 1024)
		if err != nil {
			return scenario{}, err
		}
		return scenario{name: "refresh", do: func(ctx context.Context, _ int) (int, error) {
			rt := <-pool
			t, err := fx.token(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			if err != nil {
				pool <- rt // a failed attempt leaves the token usable
				return 0, err
			}
			pool <- t.RefreshToken
			return 1, nil
		}}, nil
	case "mint":
		body, _ := json.Marshal(map[string]string{"sub": fx.subject, "scope": "read_only"})
		return scenario{name: "mint", do: func(ctx context.Context, _ int) (int, error) {
			return 1, fx.post(ctx, "/v1/delegated_tokens", "application/json", body, false, nil)
		}}, nil
	case "batch":
		items := make([]map[string]string, 100)
		for i := range items {
			items[i] = map[string]string{"sub": fx.subject, "scope": "read_only"}
		}
		body, _ := json.Marshal(map[string]any{"requests": items})
		return scenario{name: "batch", do: func(ctx context.Context, _ int) (int, error) {
			return 100, fx.post(ctx, "/v1/delegated_tokens", "application/json", body, false, nil)
		}}, nil
	case "introspect":
		body := []byte(url.Values{"token": {fx.access}}.Encode())
		return scenario{name: "introspect", do: func(ctx context.Context, _ int) (int, error) {
			return 1, fx.post(ctx, "/oauth/introspect", "application/x-www-form-urlencoded", body, true, nil)
		}}, nil
	case "healthz":
		// Calibration: GET /healthz runs through the same HTTP stack and middleware with a
		// trivial handler, so its peak is the ceiling this machine and this load generator
		// allow any flow (SPEC §11 quotes a trivial echo handler for scale).
		return scenario{name: "healthz", do: func(ctx context.Context, _ int) (int, error) {
			return 0, fx.get(ctx, "/healthz")
		}}, nil
	case "mixed":
		mint, err := fx.scenario(ctx, "mint", o)
		if err != nil {
			return scenario{}, err
		}
		intro, _ := fx.scenario(ctx, "introspect", o)
		refresh, err := fx.scenario(ctx, "refresh", o)
		if err != nil {
			return scenario{}, err
		}
		var n atomic.Int64
		return scenario{name: "mixed", do: func(ctx context.Context, w int) (int, error) {
			switch i := n.Add(1) % 10; {
			case i < 6:
				return mint.do(ctx, w)
			case i < 9:
				return intro.do(ctx, w)
			default:
				return refresh.do(ctx, w)
			}
		}}, nil
	}
	return scenario{}, fmt.Errorf("unknown scenario %q", name)
}

// refreshPool redeems n codes and returns their refresh tokens, one token family each.
func (fx *fixture) refreshPool(ctx context.Context, n int) (chan string, error) {
	codes, err := fx.putCodes(ctx, n)
	if err != nil {
		return nil, err
	}
	pool := make(chan string, n)
	for i := 0; i < n; i++ {
		t, err := fx.redeem(ctx, <-codes)
		if err != nil {
			return nil, err
		}
		pool <- t.RefreshToken
	}
	return pool, nil
}
