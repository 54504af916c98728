package configs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestSecret_NeverPrintsItsValue(t *testing.T) {
	t.Parallel()
	const value = "GOCSPX-very-secret"
	s := Secret(value)
	holder := struct {
		Name   string `json:"name" yaml:"name"`
		Secret Secret `json:"secret" yaml:"secret"`
	}{"x", s}

	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("loaded", "secret", s, "holder", holder)
	jsonOut, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	yamlOut, err := yaml.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, out string }{
		{"%v", fmt.Sprintf("%v", s)},
		{"%s", fmt.Sprintf("%s", s)},
		{"%q", fmt.Sprintf("%q", s)},
		{"%#v", fmt.Sprintf("%#v", s)},
		{"%+v struct", fmt.Sprintf("%+v", holder)},
		{"%#v struct", fmt.Sprintf("%#v", holder)},
		{"%v pointer to config", fmt.Sprintf("%v", &Config{RedisURL: Secret("redis://:" + value + "@h")})},
		{"slog", logBuf.String()},
		{"json", string(jsonOut)},
		{"yaml", string(yamlOut)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if strings.Contains(tc.out, value) {
				t.Fatalf("output reveals the secret: %s", tc.out)
			}
			if !strings.Contains(tc.out, "[redacted]") {
				t.Fatalf("output does not say [redacted]: %s", tc.out)
			}
		})
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want the value", s.Reveal())
	}
}

func TestSecret_EmptyPrintsEmpty(t *testing.T) {
	t.Parallel()
	var s Secret
	if got := s.String(); got != "" {
		t.Errorf("String() of an empty Secret = %q, want \"\"", got)
	}
	if b, _ := json.Marshal(s); string(b) != `""` {
		t.Errorf("json of an empty Secret = %s, want \"\"", b)
	}
}
