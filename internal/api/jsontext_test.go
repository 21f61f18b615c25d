package api

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLoneSurrogate(t *testing.T) {
	for _, c := range []struct {
		in   string
		at   int
		text string
	}{
		{`{}`, -1, ""},
		{`{"a":"plain"}`, -1, ""},
		{`{"a":"\u00e9\u20ac"}`, -1, ""},
		{`{"a":"\ud83d\ude00"}`, -1, ""},             // a pair: U+1F600
		{`{"a":"\uD83D\uDE00\uDBFF\uDFFF"}`, -1, ""}, // upper case, two pairs
		{`{"a":"\ud800"}`, 6, `\ud800`},              // high alone
		{`{"a":"\udc00"}`, 6, `\udc00`},              // low alone
		{`{"a":"x\uDFFFy"}`, 7, `\uDFFF`},
		{`{"a":"\ud800\u0041"}`, 6, `\ud800`},       // high, then not a low
		{`{"a":"\ud800x\udc00"}`, 6, `\ud800`},      // not adjacent
		{`{"a":"\ud800\ud800\udc00"}`, 6, `\ud800`}, // two highs
		{`{"a":"\ude00\ud83d"}`, 6, `\ude00`},       // the wrong order
		{`{"a":"\ud83d\ude00\udc00"}`, 18, `\udc00`},
		{`{"\udc00":1}`, 2, `\udc00`}, // in a key too
		{`{"a":"\ud800`, 6, `\ud800`}, // at the very end
		{`{"a":"\ud800\`, 6, `\ud800`},
		{`{"a":"\ud800\u"}`, 6, `\ud800`},
		{`{"a":"\\ud800"}`, -1, ""}, // an escaped backslash, then text
		{`{"a":"\\\ud800"}`, 8, `\ud800`},
		{`{"a":"\"\ud800"}`, 8, `\ud800`},
		{`{"a":"\"","b":"\\"}`, -1, ""},
		{`{"a":1} \ud800`, -1, ""}, // not in a string: the decoder's business
		{`{"a":"\u12"}`, -1, ""},   // a broken escape: also the decoder's
		{`{"a":"\uzzzz\ud800"}`, 12, `\ud800`},
		{`"\`, -1, ""},
		{``, -1, ""},
		{`["é","\ud800"]`, 7, `\ud800`}, // offsets count bytes
	} {
		at, text := loneSurrogate([]byte(c.in))
		if at != c.at || text != c.text {
			t.Errorf("loneSurrogate(%s) = %d %q, want %d %q", c.in, at, text, c.at, c.text)
		}
	}
}

func TestCheckSurrogatesMessage(t *testing.T) {
	err := checkSurrogates([]byte(`{"packages":[{"name":"x\ud800","version":"1"}]}`))
	if err == nil || !strings.Contains(err.Error(), `unpaired UTF-16 surrogate escape \ud800 at byte 23`) {
		t.Errorf("error %v", err)
	}
}

// FuzzLoneSurrogate checks the scanner against encoding/json, which turns
// each unpaired surrogate escape into U+FFFD: on valid JSON free of U+FFFD
// of its own, the scanner finds one exactly when decoding yields a U+FFFD.
func FuzzLoneSurrogate(f *testing.F) {
	for _, s := range []string{`{"a":"\ud83d\ude00"}`, `{"a":"\ud800"}`, `["\\ud800","\\\udc00"]`,
		`{"\ud800\u0041":"x"}`, `"\uDBFF\uDFFF"`, `{"a":"\"\udfff"}`, `[1,"\u00e9",true]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		at, text := loneSurrogate(b)
		if at >= 0 {
			if at+6 > len(b) || string(b[at:at+6]) != text || !strings.HasPrefix(text, `\u`) {
				t.Fatalf("offset %d text %q in %q", at, text, b)
			}
			r, ok := hex4(b, at+2)
			if !ok || r < 0xD800 || r > 0xDFFF {
				t.Fatalf("reported %q, not a surrogate", text)
			}
		} else if text != "" {
			t.Fatalf("no offset but text %q", text)
		}
		if !json.Valid(b) || !utf8.Valid(b) || bytes.Contains(b, []byte("\uFFFD")) ||
			bytes.Contains(bytes.ToLower(b), []byte(`\ufffd`)) {
			return
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return
		}
		if got := hasReplacement(v); got != (at >= 0) {
			t.Fatalf("%q: scanner says %d, decoding gives U+FFFD: %v", b, at, got)
		}
	})
}

// hasReplacement reports whether a decoded JSON value has U+FFFD in a
// string or a key.
func hasReplacement(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, utf8.RuneError)
	case []any:
		for _, e := range v {
			if hasReplacement(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, utf8.RuneError) || hasReplacement(e) {
				return true
			}
		}
	}
	return false
}
