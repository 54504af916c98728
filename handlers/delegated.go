package handlers

import (
	"encoding/json"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// delegatedAPI serves the service account's API (SPEC §4, §7).
type delegatedAPI struct {
	broker *broker.Broker
}

func (h *delegatedAPI) caller(c echo.Context) (*broker.Caller, error) {
	return h.broker.Authenticate(c.Request().Context(), bearerToken(c.Request()))
}

// userinfo serves GET /v1/userinfo.
func (h *delegatedAPI) userinfo(c echo.Context) error {
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	res, err := h.broker.UserInfo(c.Request().Context(), who)
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, res)
}

// resources serves GET /v1/resources.
func (h *delegatedAPI) resources(c echo.Context) error {
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	rs, err := h.broker.Resources(c.Request().Context(), who)
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, map[string]any{"resources": rs})
}

// mintBody is POST /v1/delegated_tokens' body: the single form {"sub","scope"} or the batch
// form {"requests":[{"sub","scope"}…]}. Batch items are decoded one by one, so that an item
// of the wrong shape is that item's error only (SPEC §4).
type mintBody struct {
	Sub      *string            `json:"sub"`
	Scope    *string            `json:"scope"`
	Requests *[]json.RawMessage `json:"requests"`
}

type mintItem struct {
	Sub   *string `json:"sub"`
	Scope *string `json:"scope"`
}

// mint serves POST /v1/delegated_tokens.
func (h *delegatedAPI) mint(c echo.Context) error {
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	var body mintBody
	if err := decodeJSONBody(c.Request(), &body); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if body.Requests == nil {
		if body.Sub == nil {
			return invalidRequest("sub is required (or requests for the batch form)")
		}
		res, err := h.broker.MintOne(ctx, who, broker.MintRequest{Sub: *body.Sub, Scope: deref(body.Scope)}, meta(c))
		if err != nil {
			return err
		}
		return writeEncodedNoStore(c, http.StatusOK, res.AppendJSON(make([]byte, 0, 1024)))
	}
	if body.Sub != nil || body.Scope != nil {
		return invalidRequest("send either sub and scope, or requests, not both")
	}
	items := *body.Requests
	if len(items) == 0 || len(items) > broker.MaxBatch {
		return invalidRequest("requests must hold 1 to %d items", broker.MaxBatch)
	}
	reqs := make([]broker.MintRequest, len(items))
	shapeErr := make([]string, len(items))
	for i, raw := range items {
		// The whole body passed decodeJSONBody's strict checks (syntax, UTF-8, depth,
		// duplicate names at every depth), so each item needs only its shape checked.
		var it mintItem
		if err := json.Unmarshal(raw, &it); err != nil || it.Sub == nil {
			shapeErr[i] = "each request is an object with a string sub and an optional string scope"
			continue
		}
		reqs[i] = broker.MintRequest{Sub: *it.Sub, Scope: deref(it.Scope)}
	}
	outs, err := h.broker.MintBatch(ctx, who, reqs, meta(c))
	if err != nil {
		return err
	}
	// {"results":[…]}, each item written by its own encoder: no reflection over a response
	// of up to 1,000 tokens.
	b := make([]byte, 0, 32+len(outs)*1024)
	b = append(b, `{"results":[`...)
	for i, o := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case shapeErr[i] != "":
			f := broker.MintFailure{Sub: reqs[i].Sub, Error: string(broker.InvalidRequest), ErrorDescription: shapeErr[i]}
			b = f.AppendJSON(b)
		case o.Minted != nil:
			b = o.Minted.AppendJSON(b)
		default:
			b = o.Failed.AppendJSON(b)
		}
	}
	return writeEncodedNoStore(c, http.StatusOK, append(b, "]}"...))
}

// upstream serves POST /v1/upstream_tokens; a delegated token may send no body.
func (h *delegatedAPI) upstream(c echo.Context) error {
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	var body mintItem
	if c.Request().ContentLength != 0 {
		if err := decodeJSONBody(c.Request(), &body); err != nil {
			return err
		}
	}
	res, err := h.broker.Upstream(c.Request().Context(), who, broker.UpstreamRequest{Sub: deref(body.Sub), Scope: deref(body.Scope)}, meta(c))
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, res)
}

// permissions serves POST /v1/permissions (SPEC §7).
func (h *delegatedAPI) permissions(c echo.Context) error {
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	var body broker.PermissionsBody
	if err := decodeJSONBody(c.Request(), &body); err != nil {
		return err
	}
	res, err := h.broker.RequestPermissions(c.Request().Context(), who, body, meta(c))
	if err != nil {
		return err
	}
	return writeJSONNoStore(c, http.StatusOK, res)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
