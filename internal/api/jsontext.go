package api

import "github.com/patchwave/patchwave"

// checkSurrogates refuses a JSON text with a string escape that names half
// of a UTF-16 surrogate pair without its other half ("\ud800", "\udc00",
// "\ud800\u0041"). encoding/json would turn each into U+FFFD and store a
// name that no package manager knows, the way it does with invalid UTF-8.
func checkSurrogates(b []byte) error {
	if i, esc := loneSurrogate(b); i >= 0 {
		return patchwave.Errorf(patchwave.EInvalid, "request body has an unpaired UTF-16 surrogate escape %s at byte %d", esc, i)
	}
	return nil
}

// loneSurrogate returns the offset and text of the first \uXXXX escape in
// a JSON string of b that is a high surrogate (D800–DBFF) not followed at
// once by an escaped low surrogate (DC00–DFFF), or a low surrogate not
// preceded by a high one; and -1 when there is none. It looks only at
// escapes inside strings and leaves every other syntax error to the
// decoder: text that is not JSON is not a surrogate problem.
func loneSurrogate(b []byte) (int, string) {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case '\\':
			if i+1 >= len(b) {
				return -1, ""
			}
			if b[i+1] != 'u' {
				i++ // a one-character escape: \" \\ \/ \b \f \n \r \t (or a bad one)
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				i++
				continue
			}
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return i, string(b[i : i+6])
			case r >= 0xD800 && r <= 0xDBFF:
				if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 11 // the pair, as one character
						continue
					}
				}
				return i, string(b[i : i+6])
			}
			i += 5
		}
	}
	return -1, ""
}

// hex4 reads the four hexadecimal digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
