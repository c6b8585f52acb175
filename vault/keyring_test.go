package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// canaryKey is a recognisable master key: if any of its encodings shows up
// in output, key material leaked.
var canaryKey = []byte("ownkey-canary-master-key-32bytes")

func canaryEncodings(key []byte) []string {
	return []string{
		string(key),
		base64.StdEncoding.EncodeToString(key),
		base64.RawStdEncoding.EncodeToString(key),
		hex.EncodeToString(key),
		fmt.Sprint(key), // [111 119 110 ...]
	}
}

func assertNoKey(t *testing.T, what, out string, keys ...[]byte) {
	t.Helper()
	for _, k := range keys {
		for _, enc := range canaryEncodings(k) {
			if strings.Contains(out, enc) {
				t.Fatalf("%s leaks key material %q:\n%s", what, enc, out)
			}
		}
	}
}

func mustParse(t *testing.T, s string) *Keyring {
	t.Helper()
	kr, err := ParseKeyring(s)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func b64(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

func keyOf(b byte) []byte { return bytes.Repeat([]byte{b}, MasterKeySize) }

func TestParseKeyringForms(t *testing.T) {
	k1, k2, k3 := keyOf(1), keyOf(2), keyOf(3)
	tests := []struct {
		name     string
		in       string
		versions []uint32
		keys     map[uint32][]byte
	}{
		{"bare base64", b64(k1), []uint32{1}, map[uint32][]byte{1: k1}},
		{"bare base64 unpadded", strings.TrimRight(b64(k1), "="), []uint32{1}, map[uint32][]byte{1: k1}},
		{"bare hex", hex.EncodeToString(k2), []uint32{1}, map[uint32][]byte{1: k2}},
		{"comma list", "v1:" + b64(k1) + ",v3:" + b64(k3), []uint32{1, 3}, map[uint32][]byte{1: k1, 3: k3}},
		{"lines, comments, blanks, CRLF", "# header, with a comma\r\n\r\n v2:" + b64(k2) + " \r\n#v9:junk\nv1:" + hex.EncodeToString(k1) + "\n",
			[]uint32{1, 2}, map[uint32][]byte{1: k1, 2: k2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr := mustParse(t, tt.in)
			if got := kr.Versions(); !slices.Equal(got, tt.versions) {
				t.Fatalf("versions %v, want %v", got, tt.versions)
			}
			if kr.Active() != slices.Max(tt.versions) {
				t.Fatalf("active v%d, want the highest", kr.Active())
			}
			// Encode is the file format: it must carry exactly these keys.
			want := []string{}
			for _, v := range tt.versions {
				want = append(want, fmt.Sprintf("v%d:%s", v, b64(tt.keys[v])))
			}
			if got := kr.Encode(); got != strings.Join(want, ",") {
				t.Fatalf("Encode() = %q, want %q", got, strings.Join(want, ","))
			}
			again := mustParse(t, kr.Encode())
			if again.Encode() != kr.Encode() {
				t.Fatal("Encode does not round-trip through ParseKeyring")
			}
		})
	}
}

func TestParseKeyringErrorsDoNotEchoInput(t *testing.T) {
	secretish := "c2VjcmV0LWNhbmFyeS12YWx1ZQ" // base64 of 19 bytes
	tests := []struct {
		name, in, wantPart string
	}{
		{"empty", " \n# only a comment\n", "no master key"},
		{"short bare key", secretish, "19 bytes"},
		{"short versioned key", "v1:" + secretish, "entry 1 (version 1)"},
		{"not base64", "v1:" + b64(keyOf(1)) + ",v2:Zm9v!!bar*canary", "entry 2 (version 2)"},
		{"bad version label", "vX-canary:" + b64(keyOf(1)), "entry 1"},
		{"version zero", "v0:" + b64(keyOf(1)), "entry 1"},
		{"duplicate", "v1:" + b64(keyOf(1)) + "\nv1:" + b64(keyOf(2)), "repeats version 1"},
		{"bare among versioned", "v1:" + b64(keyOf(1)) + "," + b64(canaryKey), "entry 2 has no version"},
		{"all zero", "v1:" + b64(make([]byte, 32)), "zero"},
		{"too long", "v1:" + b64(append(slices.Clone(canaryKey), 'x')), "33 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kr, err := ParseKeyring(tt.in)
			if err == nil {
				t.Fatalf("ParseKeyring accepted it: %v", kr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantPart) {
				t.Fatalf("error %q does not say %q", msg, tt.wantPart)
			}
			for _, leak := range []string{secretish, "canary", b64(canaryKey), b64(keyOf(1)), b64(keyOf(2)), "Zm9v"} {
				if strings.Contains(msg, leak) {
					t.Fatalf("error %q echoes input %q", msg, leak)
				}
			}
		})
	}
}

func TestKeyringVersions(t *testing.T) {
	kr := GenerateKeyring()
	if kr.Active() != 1 || !slices.Equal(kr.Versions(), []uint32{1}) {
		t.Fatalf("GenerateKeyring: %v", kr)
	}
	v, err := kr.AddVersion()
	if err != nil || v != 2 || kr.Active() != 2 || !kr.Has(1) || !kr.Has(2) || kr.Has(3) {
		t.Fatalf("AddVersion = %d, %v; keyring %v", v, err, kr)
	}
	if kr.String() != "keyring[v1,v2 active=v2]" {
		t.Fatalf("String() = %q", kr.String())
	}
	c1, _ := kr.Check(1)
	c2, _ := kr.Check(2)
	if bytes.Equal(c1, c2) {
		t.Fatal("two random keys have the same check value")
	}
	kr.Remove(2)
	if kr.Active() != 1 || kr.Has(2) {
		t.Fatalf("after Remove(2): %v", kr)
	}
	// The next version continues from the highest present.
	if v, _ := kr.AddVersion(); v != 2 {
		t.Fatalf("AddVersion after Remove = v%d, want v2", v)
	}
	kr.Remove(1)
	kr.Remove(2)
	if kr.String() != "keyring[empty]" {
		t.Fatalf("empty keyring prints %q", kr.String())
	}
	if _, _, err := kr.Seal(1, "openai", []byte("x")); err == nil {
		t.Fatal("an empty keyring sealed")
	}
	// Two random keyrings differ.
	if a, b := GenerateKeyring(), GenerateKeyring(); a.Encode() == b.Encode() {
		t.Fatal("GenerateKeyring is not random")
	}
}

func TestCheckIdentifiesTheKey(t *testing.T) {
	a := mustParse(t, "v1:"+b64(canaryKey))
	b := mustParse(t, "v7:"+b64(canaryKey))
	c := mustParse(t, "v1:"+b64(keyOf(9)))
	ca, err := a.Check(1)
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.Check(7)
	cc, _ := c.Check(1)
	if !bytes.Equal(ca, cb) {
		t.Fatal("the same key gives different check values")
	}
	if bytes.Equal(ca, cc) {
		t.Fatal("different keys give the same check value")
	}
	if len(ca) != sha256.Size {
		t.Fatalf("check value is %d bytes", len(ca))
	}
	assertNoKey(t, "check value", string(ca), canaryKey)
	if _, err := a.Check(2); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("Check of a missing version: %v", err)
	}
}

// TestEnvelopeLayout decodes a blob by the documented layout with a KEK
// derived independently by HKDF, which also shows the raw master key is not
// what wraps data keys.
func TestEnvelopeLayout(t *testing.T) {
	kr := mustParse(t, "v5:"+b64(canaryKey))
	version, sealed, err := kr.Seal(42, "anthropic", []byte("sk-ant-hello"))
	if err != nil {
		t.Fatal(err)
	}
	if version != 5 || sealed[0] != 1 || binary.BigEndian.Uint32(sealed[1:5]) != 5 {
		t.Fatalf("header % x, version %d", sealed[:5], version)
	}
	if len(sealed) != 1+4+12+48+12+len("sk-ant-hello")+16 {
		t.Fatalf("blob is %d bytes", len(sealed))
	}
	gcm := func(key []byte) cipher.AEAD {
		b, err := aes.NewCipher(key)
		if err != nil {
			t.Fatal(err)
		}
		g, _ := cipher.NewGCM(b)
		return g
	}
	wrapped := sealed[5:65]
	if _, err := gcm(canaryKey).Open(nil, wrapped[:12], wrapped[12:], []byte("ownkey/dek/v1|42|anthropic")); err == nil {
		t.Fatal("the raw master key unwraps the data key; it must go through HKDF")
	}
	kek, _ := hkdf.Key(sha256.New, canaryKey, nil, "ownkey/master-key/kek/v1", 32)
	dek, err := gcm(kek).Open(nil, wrapped[:12], wrapped[12:], []byte("ownkey/dek/v1|42|anthropic"))
	if err != nil {
		t.Fatalf("unwrapping by the documented layout: %v", err)
	}
	data := sealed[65:]
	pt, err := gcm(dek).Open(nil, data[:12], data[12:], []byte("ownkey/credential/v1|42|anthropic"))
	if err != nil || string(pt) != "sk-ant-hello" {
		t.Fatalf("opening by the documented layout: %q, %v", pt, err)
	}
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	kr := mustParse(t, "v1:"+b64(canaryKey)+",v2:"+b64(keyOf(0xAB)))
	var out strings.Builder
	fmt.Fprintf(&out, "%v|%+v|%#v|%s|%d|%x|%q|%v|%+v", kr, kr, kr, kr, kr, kr, kr, []*Keyring{kr}, struct{ K *Keyring }{kr})
	js, err := json.Marshal(map[string]any{"kr": kr})
	if err != nil {
		t.Fatal(err)
	}
	out.Write(js)
	h := slog.New(slog.NewJSONHandler(&out, nil))
	h.Info("loaded", "keyring", kr, "group", slog.GroupValue(slog.Any("kr", kr)))
	h2 := slog.New(slog.NewTextHandler(&out, nil))
	h2.Info("loaded", "keyring", kr)
	_, err = ParseKeyring("v1:" + b64(canaryKey) + ",v1:" + b64(canaryKey))
	out.WriteString(err.Error())
	_, err = kr.Open(1, "openai", 3, make([]byte, 200))
	out.WriteString(err.Error())

	s := out.String()
	assertNoKey(t, "printed keyring", s, canaryKey, keyOf(0xAB))
	if !strings.Contains(s, "keyring[v1,v2 active=v2]") {
		t.Fatalf("keyring does not print its versions:\n%s", s)
	}
	// Encode is the one deliberate exception.
	if !strings.Contains(kr.Encode(), b64(canaryKey)) {
		t.Fatal("Encode does not carry the key")
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX permissions")
	}
	dir := filepath.Join(t.TempDir(), "data", "secrets")
	path := filepath.Join(dir, "master.key")
	kr, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreateKeyFile = %v, %v, %v", kr, created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Fatalf("key dir mode %04o, want 0700", di.Mode().Perm())
	}
	content, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(content), "# ") || !strings.Contains(string(content), "OWNKEY_MASTER_KEY") {
		t.Fatalf("key file lacks its explanatory header:\n%s", content)
	}
	if !strings.Contains(string(content), kr.Encode()) {
		t.Fatal("key file does not hold the generated keyring")
	}

	again, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || again.Encode() != kr.Encode() {
		t.Fatalf("reloading: created=%v err=%v same=%v", created, err, again != nil && again.Encode() == kr.Encode())
	}

	// Rotation writes a new version over it, atomically, leaving no temp file.
	if _, err := again.AddVersion(); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(path, again); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after WriteKeyFile, want 1", len(entries))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("rewritten key file mode %04o", fi.Mode().Perm())
	}
	third, _, err := LoadOrCreateKeyFile(path)
	if err != nil || !slices.Equal(third.Versions(), []uint32{1, 2}) || third.Encode() != again.Encode() {
		t.Fatalf("after WriteKeyFile: %v, %v", third, err)
	}

	// A readable-by-others file is refused, without printing its content.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = LoadOrCreateKeyFile(path)
	if err == nil || !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("0644 key file: %v", err)
	}
	assertNoKey(t, "permission error", err.Error())
	if !strings.Contains(third.Encode(), ":") || strings.Contains(err.Error(), third.Encode()) {
		t.Fatal("permission error carries the keys")
	}
}

func TestKeyFileParseErrorDoesNotEcho(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte("# mine\nv1:"+b64(canaryKey[:31])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, created, err := LoadOrCreateKeyFile(path)
	if err == nil || created {
		t.Fatalf("bad key file accepted: created=%v err=%v", created, err)
	}
	if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), b64(canaryKey[:31])) {
		t.Fatalf("error should name the file, not its content: %v", err)
	}
	// The bad file is left alone, never replaced by a fresh keyring.
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "# mine") {
		t.Fatal("a bad key file was overwritten")
	}
}

func TestSubKey(t *testing.T) {
	kr := GenerateKeyring()
	if _, err := kr.AddVersion(); err != nil {
		t.Fatal(err)
	}
	a1, err := kr.SubKey(1, "ownkey/test/a")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := kr.SubKey(1, "ownkey/test/a")
	b1, _ := kr.SubKey(1, "ownkey/test/b")
	a2, _ := kr.SubKey(2, "ownkey/test/a")
	if len(a1) != 32 || !bytes.Equal(a1, again) || bytes.Equal(a1, b1) || bytes.Equal(a1, a2) {
		t.Fatalf("sub-keys: same purpose and version must agree, others differ: %x %x %x %x", a1, again, b1, a2)
	}
	// The same key another process derives from the same master key.
	other, err := ParseKeyring(kr.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := other.SubKey(2, "ownkey/test/a"); !bytes.Equal(o, a2) {
		t.Fatal("a replica with the same keyring derives another key")
	}
	for _, purpose := range []string{"", kekInfo, checkInfo} {
		if _, err := kr.SubKey(1, purpose); err == nil {
			t.Fatalf("purpose %q: want refused", purpose)
		}
	}
	if _, err := kr.SubKey(9, "ownkey/test/a"); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("unknown version: %v", err)
	}
}
