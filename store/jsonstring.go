package store

import "unicode/utf8"

// AppendJSONString appends s as a JSON string escaped the way RFC 8785 §3.2.2.2 requires:
// only '"', '\\' and control characters are escaped (\b \t \n \f \r by name, others as
// \u00xx), everything else is copied as is, a run of unescaped bytes at once. Each byte of
// invalid UTF-8 becomes U+FFFD, as encoding/json does. It is the audit chain's canonical
// string form and the hot paths' JSON writer; encoding/json decodes it to s.
func AppendJSONString(b []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	if !utf8.ValidString(s) {
		return appendInvalidUTF8(b, s)
	}
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		start = i + 1
		switch c {
		case '"':
			b = append(b, `\"`...)
		case '\\':
			b = append(b, `\\`...)
		case '\b':
			b = append(b, `\b`...)
		case '\t':
			b = append(b, `\t`...)
		case '\n':
			b = append(b, `\n`...)
		case '\f':
			b = append(b, `\f`...)
		case '\r':
			b = append(b, `\r`...)
		default:
			b = append(b, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
		}
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendInvalidUTF8 is AppendJSONString of s with each invalid byte replaced by U+FFFD.
func appendInvalidUTF8(b []byte, s string) []byte {
	v := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			v = utf8.AppendRune(v, utf8.RuneError)
		} else {
			v = append(v, s[i:i+n]...)
		}
		i += n
	}
	return AppendJSONString(b, string(v))
}
