package broker

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/enterprise-connect/broker/broker/audit"
)

// The encoders below write what encoding/json writes for these types, field for field and in
// the same order, without reflection: a batch of 100 tokens spent a fifth of its non-signing
// CPU in encoding/json (the claim sets and the response). They differ from encoding/json
// only in leaving '<', '>', '&', U+2028 and U+2029 unescaped, which JSON allows.

// appendJSONString appends s as a JSON string; each byte of invalid UTF-8 becomes U+FFFD,
// as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		var v strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				v.WriteRune(utf8.RuneError)
			} else {
				v.WriteString(s[i : i+n])
			}
			i += n
		}
		s = v.String()
	}
	return audit.AppendString(b, s)
}

// appendJSON appends the claim set as encoding/json would marshal it.
func (w *delegatedWire) appendJSON(b []byte) []byte {
	b = append(b, `{"iss":`...)
	b = appendJSONString(b, w.Issuer)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, w.Subject)
	b = append(b, `,"aud":[`...)
	b = appendJSONString(b, w.Audience[0])
	b = append(b, `],"exp":`...)
	b = strconv.AppendInt(b, w.ExpiresAt, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, w.IssuedAt, 10)
	b = append(b, `,"jti":`...)
	b = appendJSONString(b, w.ID)
	b = append(b, `,"client_id":`...)
	b = appendJSONString(b, w.ClientID)
	b = append(b, `,"scope":`...)
	b = appendJSONString(b, w.Scope)
	b = append(b, `,"domain":`...)
	b = appendJSONString(b, w.Domain)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, w.Kind)
	b = append(b, `,"grant_id":`...)
	b = appendJSONString(b, w.GrantID)
	b = append(b, `,"act":{"sub":`...)
	b = appendJSONString(b, w.Act.Sub)
	b = append(b, '}')
	if len(w.UnrestrictedCalendars) > 0 {
		b = append(b, `,"unrestricted_calendars":[`...)
		for i, c := range w.UnrestrictedCalendars {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, c)
		}
		b = append(b, ']')
	}
	if w.Family != "" {
		b = append(b, `,"fam":`...)
		b = appendJSONString(b, w.Family)
	}
	return append(b, '}')
}

// AppendJSON appends m as encoding/json would marshal it (SPEC §4's single-form response);
// a nil m is null.
func (m *Minted) AppendJSON(b []byte) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"token_type":`...)
	b = appendJSONString(b, m.TokenType)
	b = append(b, `,"access_token":`...)
	b = appendJSONString(b, m.AccessToken)
	b = append(b, `,"expires_in":`...)
	b = strconv.AppendInt(b, m.ExpiresIn, 10)
	b = append(b, `,"scope":`...)
	b = appendJSONString(b, m.Scope)
	b = append(b, `,"sub":`...)
	b = appendJSONString(b, m.Sub)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, m.Kind)
	return append(b, '}')
}

// AppendJSON appends f as encoding/json would marshal it; a nil f is null.
func (f *MintFailure) AppendJSON(b []byte) []byte {
	if f == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"sub":`...)
	b = appendJSONString(b, f.Sub)
	b = append(b, `,"error":`...)
	b = appendJSONString(b, f.Error)
	b = append(b, `,"error_description":`...)
	b = appendJSONString(b, f.ErrorDescription)
	return append(b, '}')
}
