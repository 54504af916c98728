package broker

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// jsonwireStrings are the values the encoders are tried with: plain ones, which must come
// out byte for byte as encoding/json writes them, and awkward ones, which must decode to
// what encoding/json's output decodes to.
var jsonwireStrings = []struct {
	s     string
	plain bool
}{
	{"", true},
	{"alice@example.com", true},
	{"https://broker.example/ read_only", true},
	{"Zoë Ünal 日本 🎉", true},
	{`quote " and backslash \ `, true},
	{"controls \x00 \x01 \x1f \b \f \n \r \t end", true},
	{"html <b>&amp;</b>", false},       // encoding/json writes \u003c \u003e \u0026
	{"line\u2028para\u2029end", false}, // encoding/json writes \u2028 \u2029
	{"invalid \xff\xfe utf-8 \xc3", false},
}

func TestJSONWire_DelegatedClaimsAsEncodingJSON(t *testing.T) {
	for _, v := range jsonwireStrings {
		for _, extra := range []struct {
			cals []string
			fam  string
		}{{nil, ""}, {[]string{"cal_1", v.s}, "fam_" + v.s}} {
			w := delegatedWire{Issuer: "https://broker.example", Subject: v.s, Audience: [1]string{v.s},
				ExpiresAt: 1765000600, IssuedAt: -3, ID: "jti_" + v.s,
				brokerClaims: brokerClaims{ClientID: "cli_1", Scope: v.s, Domain: "example.com", Kind: "account",
					GrantID: "ser_1", Act: Actor{Sub: v.s}, UnrestrictedCalendars: extra.cals, Family: extra.fam}}
			jsonwireCompare(t, w.appendJSON(nil), w, v.plain)
		}
	}
}

func TestJSONWire_MintResultsAsEncodingJSON(t *testing.T) {
	for _, v := range jsonwireStrings {
		m := &Minted{TokenType: "bearer", AccessToken: "eyJ.x." + v.s, ExpiresIn: 600, Scope: v.s, Sub: v.s, Kind: "resource"}
		jsonwireCompare(t, m.AppendJSON(nil), m, v.plain)
		f := &MintFailure{Sub: v.s, Error: "invalid_subject", ErrorDescription: v.s + " is not an account"}
		jsonwireCompare(t, f.AppendJSON(nil), f, v.plain)
	}
	var m *Minted
	var f *MintFailure
	if got := string(f.AppendJSON(m.AppendJSON([]byte("x")))); got != "xnullnull" {
		t.Errorf("nil receivers appended %q, want null each", got)
	}
}

// jsonwireCompare checks got against encoding/json's encoding of v: the same bytes when
// plain, else valid JSON that decodes to the same value.
func jsonwireCompare(t *testing.T, got []byte, v any, plain bool) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if plain {
		if string(got) != string(want) {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		return
	}
	if !json.Valid(got) {
		t.Fatalf("invalid JSON: %q", got)
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(w, g); d != "" {
		t.Errorf("decoded value differs from encoding/json's (-want +got):\n%s", d)
	}
}
