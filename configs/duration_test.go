package configs

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseDuration_AcceptsSecondsGoSyntaxAndDays(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     time.Duration
		wantErr  bool
	}{
		{name: "integer seconds", in: "900", want: 900 * time.Second},
		{name: "zero", in: "0", want: 0},
		{name: "spaces trimmed", in: " 30 ", want: 30 * time.Second},
		{name: "go seconds", in: "2s", want: 2 * time.Second},
		{name: "go minutes", in: "5m", want: 5 * time.Minute},
		{name: "go compound", in: "1h30m", want: 90 * time.Minute},
		{name: "go milliseconds", in: "1500ms", want: 1500 * time.Millisecond},
		{name: "days", in: "90d", want: 90 * 24 * time.Hour},
		{name: "negative seconds", in: "-5", want: -5 * time.Second},
		{name: "empty", in: "", wantErr: true},
		{name: "word", in: "soon", wantErr: true},
		{name: "fractional days", in: "1.5d", wantErr: true},
		{name: "days mixed with hours", in: "1d12h", wantErr: true},
		{name: "negative days", in: "-1d", wantErr: true},
		{name: "seconds overflow", in: "99999999999999999", wantErr: true},
		{name: "days overflow", in: "999999999d", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDuration(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want an error", tc.in, got)
				}
				if !strings.Contains(err.Error(), "invalid duration") {
					t.Errorf("error %q does not say what is invalid", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestDuration_UnmarshalYAML_IntegerIsSecondsStringIsGoSyntax(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc string
		want      time.Duration
		wantErr   string
	}{
		{name: "integer", doc: "d: 900", want: 900 * time.Second},
		{name: "go syntax", doc: "d: 5m", want: 5 * time.Minute},
		{name: "quoted integer", doc: `d: "60"`, want: time.Minute},
		{name: "days", doc: "d: 90d", want: 90 * 24 * time.Hour},
		{name: "float refused", doc: "d: 1.5", wantErr: "line 1: column 4: invalid duration 1.5"},
		{name: "word refused", doc: "d: later", wantErr: `line 1: column 4: invalid duration "later"`},
		{name: "list refused", doc: "d: [1]", wantErr: "line 1: column 4: want a duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var v struct {
				D Duration `yaml:"d"`
			}
			err := yaml.Unmarshal([]byte(tc.doc), &v)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Unmarshal(%q) error = %v, want it to contain %q", tc.doc, err, tc.wantErr)
				}
				return
			}
			if err != nil || v.D.Duration() != tc.want {
				t.Fatalf("Unmarshal(%q) = %v, %v; want %v", tc.doc, v.D, err, tc.want)
			}
		})
	}
}

func TestDuration_MarshalYAML_RoundTrips(t *testing.T) {
	t.Parallel()
	in := struct {
		D Duration `yaml:"d"`
	}{D: Duration(90 * time.Second)}
	b, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal(b, &out); err != nil || out.D != in.D {
		t.Fatalf("round trip of %v through %q = %v, %v", in.D, b, out.D, err)
	}
	if got := in.D.Seconds(); got != 90 {
		t.Errorf("Seconds() = %d, want 90", got)
	}
}
