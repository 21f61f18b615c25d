package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/patchwave/patchwave"
)

func TestDecodeCheckinFast(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		fast     bool // the fast path takes it
	}{
		{"full report", `{"facts_hash":"f","packages_hash":"p","uptime_seconds":12,"packages":[{"name":"bash","version":"5.2.15-2+b2","arch":"amd64","source":"bash","source_version":"5.2.15-2"}]}`, true},
		{"unchanged", ` { "facts_hash" : "f" , "packages_hash" : "p" } `, true},
		{"empty list", `{"packages":[]}`, true},
		{"empty object", `{}`, true},
		{"negative uptime", `{"uptime_seconds":-5}`, true},
		{"utf-8 names", `{"packages":[{"name":"pâte","version":"1"}]}`, true},
		{"escaped string", `{"facts_hash":"a\"b"}`, false},
		{"unicode escape", `{"packages":[{"name":"\u0062ash","version":"1"}]}`, false},
		{"key in another case", `{"Facts_Hash":"f"}`, false},
		{"unknown key", `{"nope":1}`, false},
		{"repeated key", `{"facts_hash":"a","facts_hash":"b"}`, false},
		{"repeated package key", `{"packages":[{"name":"a","name":"b"}]}`, false},
		{"null packages", `{"packages":null}`, false},
		{"float uptime", `{"uptime_seconds":1.5}`, false},
		{"exponent uptime", `{"uptime_seconds":1e3}`, false},
		{"leading zero", `{"uptime_seconds":012}`, false},
		{"huge uptime", `{"uptime_seconds":99999999999999999999}`, false},
		{"facts", `{"facts":{"hostname":"x"}}`, false},
		{"delta", `{"delta":{"added":[]}}`, false},
		{"trailing data", `{} {}`, false},
		{"trailing comma", `{"facts_hash":"f",}`, false},
		{"not an object", `[]`, false},
		{"truncated", `{"packages":[{"name":"a"`, false},
		{"number as string", `{"facts_hash":1}`, false},
		{"control character", "{\"facts_hash\":\"a\tb\"}", false},
	} {
		var got patchwave.CheckinRequest
		if ok := decodeCheckinFast([]byte(tc.in), &got); ok != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.name, ok, tc.fast)
			continue
		}
		// Whatever path it takes, the result is encoding/json's.
		var fromFast, want patchwave.CheckinRequest
		errFast := decodeCheckin([]byte(tc.in), &fromFast)
		errWant := strictJSON([]byte(tc.in), &want)
		if (errFast == nil) != (errWant == nil) || !reflect.DeepEqual(fromFast, want) {
			t.Errorf("%s: decodeCheckin = %+v, %v; encoding/json = %+v, %v", tc.name, fromFast, errFast, want, errWant)
		}
	}
}

func FuzzDecodeCheckinFast(f *testing.F) {
	f.Add([]byte(`{"facts_hash":"f","packages_hash":"p","uptime_seconds":12,"packages":[{"name":"bash","version":"5.2","arch":"amd64","source":"bash","source_version":"5.2"}]}`))
	f.Add([]byte(`{"packages":[]}`))
	f.Add([]byte(`{"uptime_seconds":-0}`))
	f.Add([]byte(`{"base_hash":"x","facts_hash":""}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return // decode refuses it before
		}
		var fast patchwave.CheckinRequest
		if !decodeCheckinFast(b, &fast) {
			return
		}
		var want patchwave.CheckinRequest
		if err := strictJSON(b, &want); err != nil {
			t.Fatalf("fast path took %q, encoding/json refuses it: %v", b, err)
		}
		if !reflect.DeepEqual(fast, want) {
			t.Fatalf("fast path %+v, encoding/json %+v for %q", fast, want, b)
		}
	})
}

func BenchmarkDecodeCheckin(b *testing.B) {
	ps := make([]patchwave.Package, 1000)
	for i := range ps {
		ps[i] = patchwave.Package{Name: fmt.Sprintf("lib-package-%04d", i), Version: "2.38-5+deb12u1", Arch: "amd64", Source: "glibc", SourceVersion: "2.38-5"}
	}
	body, _ := json.Marshal(patchwave.CheckinRequest{FactsHash: strings.Repeat("a", 64), PackagesHash: strings.Repeat("b", 64), Packages: &ps})
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req patchwave.CheckinRequest
			if !decodeCheckinFast(body, &req) {
				b.Fatal("slow path")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req patchwave.CheckinRequest
			if err := strictJSON(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
