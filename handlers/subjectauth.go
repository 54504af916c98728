package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/enterprise-connect/broker/broker"
)

// subjectAuthBody is POST /v1/service_account_authorizations' body: one authorization, or
// the batch form {"service_account_authorizations":[…]} (SPEC §5).
type subjectAuthBody struct {
	broker.SubjectAuthorization
	Batch *[]broker.SubjectAuthorization `json:"service_account_authorizations"`
}

// subjectAuthorizations serves POST /v1/service_account_authorizations: 202 with an empty
// body; the outcome reaches the callback_url.
func (h *delegatedAPI) subjectAuthorizations(c echo.Context) error {
	who, err := h.caller(c)
	if err != nil {
		return err
	}
	var body subjectAuthBody
	if err := decodeJSONBody(c.Request(), &body); err != nil {
		return err
	}
	single := body.SubjectAuthorization
	hasSingle := single.Email != nil || single.Scope != nil || single.CallbackURL != nil || single.State != nil
	var items []broker.SubjectAuthorization
	switch {
	case body.Batch != nil && hasSingle:
		v := &broker.ValidationError{}
		v.Add("service_account_authorizations", "ambiguous", "send one authorization or service_account_authorizations, not both")
		return v
	case body.Batch != nil:
		items = *body.Batch
	default:
		items = []broker.SubjectAuthorization{single}
	}
	if err := h.broker.RequestSubjectAuthorizations(c.Request().Context(), who, items, meta(c)); err != nil {
		return err
	}
	setNoStore(c.Response().Header())
	return c.NoContent(http.StatusAccepted)
}
