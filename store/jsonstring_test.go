package store

import (
	"encoding/json"
	"testing"
)

// AppendJSONString's output is valid JSON that decodes to what encoding/json's encoding of
// the same string decodes to (s itself when s is valid UTF-8, else s with each invalid byte
// replaced by U+FFFD), and escapes only what RFC 8785 escapes.
func TestAppendJSONString(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", `""`},
		{"alice@example.com", `"alice@example.com"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f\x7f", `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{"<&> \u2028\u2029 é 日本 🎉", "\"<&> \u2028\u2029 é 日本 🎉\""},
		{"bad \xff\xfe end \xc3", "\"bad \uFFFD\uFFFD end \uFFFD\""},
		{"cut \xe6\x97x", "\"cut \uFFFD\uFFFDx\""},
		{"surrogate \xed\xa0\x80!", "\"surrogate \uFFFD\uFFFD\uFFFD!\""},
	}
	for _, c := range cases {
		got := AppendJSONString([]byte("x"), c.in)
		if string(got) != "x"+c.want {
			t.Errorf("AppendJSONString(%q) = %s, want x%s", c.in, got, c.want)
		}
		var dec, std string
		if err := json.Unmarshal(got[1:], &dec); err != nil {
			t.Fatalf("%q: %v", got, err)
		}
		b, _ := json.Marshal(c.in)
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatal(err)
		}
		if dec != std {
			t.Errorf("%q decodes to %q, encoding/json's form to %q", c.in, dec, std)
		}
	}
}
