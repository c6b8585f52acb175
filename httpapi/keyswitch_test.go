package httpapi

import (
	"testing"

	"github.com/ownkey/ownkey"
	"github.com/tidwall/gjson"
)

// TestKeySwitch: x-use-byok and byok.enabled, alone and together.
func TestKeySwitch(t *testing.T) {
	cases := []struct {
		header, body string // body: the byok object, "" for none
		want         ownkey.KeyChoice
		param        string // the error's, "" for none
	}{
		{"", "", ownkey.KeyAuto, ""},
		{"  ", `{"provider":"groq"}`, ownkey.KeyAuto, ""},
		{"true", "", ownkey.KeyOwn, ""},
		{"TRUE", "", ownkey.KeyOwn, ""},
		{"1", "", ownkey.KeyOwn, ""},
		{" yes ", "", ownkey.KeyOwn, ""},
		{"on", "", ownkey.KeyOwn, ""},
		{"false", "", ownkey.KeyPlatform, ""},
		{"0", "", ownkey.KeyPlatform, ""},
		{"No", "", ownkey.KeyPlatform, ""},
		{"off", "", ownkey.KeyPlatform, ""},
		{"maybe", "", 0, "x-use-byok"},
		{"", `{"enabled":true}`, ownkey.KeyOwn, ""},
		{"", `{"enabled":false}`, ownkey.KeyPlatform, ""},
		{"", `{"enabled":null}`, ownkey.KeyAuto, ""},
		{"", `{"enabled":"true"}`, ownkey.KeyOwn, ""},
		{"", `{"enabled":"false"}`, ownkey.KeyPlatform, ""},
		{"", `{"enabled":1}`, 0, "byok.enabled"},
		{"", `{"enabled":"sometimes"}`, 0, "byok.enabled"},
		{"", `{"enabled":{}}`, 0, "byok.enabled"},
		{"true", `{"enabled":true}`, ownkey.KeyOwn, ""},
		{"false", `{"enabled":false}`, ownkey.KeyPlatform, ""},
		{"true", `{"enabled":false}`, 0, "byok.enabled"},
		{"false", `{"enabled":true}`, 0, "byok.enabled"},
	}
	for _, c := range cases {
		got, err := keySwitch(c.header, gjson.Get(c.body, "enabled"))
		if c.param != "" {
			var e *ownkey.Error
			if !asError(err, &e) || e.Param != c.param || ownkey.StatusOf(err) != 400 {
				t.Errorf("%q %s: %v, want a 400 on %s", c.header, c.body, err, c.param)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q %s: %v %v, want %v", c.header, c.body, got, err, c.want)
		}
	}
	enabled := gjson.Get(`{"enabled":true}`, "enabled")
	if n := testing.AllocsPerRun(100, func() { _, _ = keySwitch(" True ", enabled) }); n != 0 {
		t.Errorf("keySwitch allocates %v times", n)
	}
}
