package gemini

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ownkey/ownkey"
)

func TestConvertSchema(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"dropped keywords",
			`{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","$comment":"c","type":"object","title":"T","description":"D",` +
				`"properties":{"a":{"type":"string","minLength":1,"maxLength":9,"pattern":"^a","format":"email","examples":["a"]},` +
				`"n":{"type":"number","minimum":0,"exclusiveMaximum":10,"multipleOf":2,"format":"double"},` +
				`"i":{"type":"integer","format":"int64","maximum":5,"default":1},` +
				`"l":{"type":"array","items":{"type":"string","format":"date-time"},"minItems":1,"maxItems":3,"uniqueItems":true},` +
				`"o":{"type":"object","properties":{"x":{"type":"boolean"}},"additionalProperties":{"type":"string"},"patternProperties":{"^y":{}},"minProperties":1}},` +
				`"required":["a","missing","n"],"additionalProperties":false,"unevaluatedProperties":false,"if":{},"then":{},"not":{}}`,
			`{"type":"object","title":"T","description":"D","properties":{"a":{"type":"string","minLength":1,"maxLength":9,"pattern":"^a"},` +
				`"n":{"type":"number","format":"double","minimum":0},"i":{"type":"integer","format":"int64","maximum":5,"default":1},` +
				`"l":{"type":"array","items":{"type":"string","format":"date-time"},"minItems":1,"maxItems":3},` +
				`"o":{"type":"object","properties":{"x":{"type":"boolean"}},"minProperties":1}},"required":["a","n"]}`},
		{"nullable forms",
			`{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"anyOf":[{"type":"integer"},{"type":"null"}],"description":"B"},` +
				`"c":{"oneOf":[{"type":"null"},{"$ref":"#/$defs/E"}]},"d":{"type":"string","nullable":true},"e":{"type":["string","number"]}},` +
				`"$defs":{"E":{"type":"string","enum":["x","y"]}}}`,
			`{"type":"object","properties":{"a":{"type":"string","nullable":true},"b":{"type":"integer","description":"B","nullable":true},` +
				`"c":{"type":"string","nullable":true,"enum":["x","y"]},"d":{"type":"string","nullable":true},` +
				`"e":{"anyOf":[{"type":"string"},{"type":"number"}]}}}`},
		{"anyOf kept",
			`{"type":"object","properties":{"v":{"anyOf":[{"type":"string"},{"type":"object","properties":{"k":{"type":"string"}}},{"type":"null"}],"description":"V"}}}`,
			`{"type":"object","properties":{"v":{"anyOf":[{"type":"string"},{"type":"object","properties":{"k":{"type":"string"}}}],"description":"V","nullable":true}}}`},
		{"refs written out, description beside a ref kept",
			`{"type":"object","properties":{"home":{"$ref":"#/$defs/Addr","description":"Home"},"work":{"allOf":[{"$ref":"#/definitions/Addr2"}]},` +
				`"list":{"type":"array","items":{"$ref":"#/$defs/Addr"}}},` +
				`"$defs":{"Addr":{"type":"object","description":"An address","properties":{"city":{"type":"string"}},"required":["city"]}},` +
				`"definitions":{"Addr2":{"$ref":"#/$defs/Addr"}}}`,
			`{"type":"object","properties":{"home":{"type":"object","description":"Home","properties":{"city":{"type":"string"}},"required":["city"]},` +
				`"work":{"type":"object","description":"An address","properties":{"city":{"type":"string"}},"required":["city"]},` +
				`"list":{"type":"array","items":{"type":"object","description":"An address","properties":{"city":{"type":"string"}},"required":["city"]}}}}`},
		{"pointer escapes",
			`{"type":"object","properties":{"a":{"$ref":"#/$defs/a~1b~0c"},"b":{"$ref":"#/properties/a"},"c":{"$ref":"#/$defs/sp%20ace"}},"$defs":{"a/b~c":{"type":"string"},"sp ace":{"type":"boolean"}}}`,
			`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"boolean"}}}`},
		{"types inferred, enums and const",
			`{"properties":{"e":{"enum":["a","b"]},"n":{"type":"integer","enum":[1,2]},"c":{"const":"only"},"m":{"enum":["a",1]},"l":{"items":{"type":"string"}},"t":true,"any":{}}}`,
			`{"type":"object","properties":{"e":{"type":"string","enum":["a","b"]},"n":{"type":"integer"},"c":{"type":"string","enum":["only"]},"m":{},` +
				`"l":{"type":"array","items":{"type":"string"}},"t":{},"any":{}}}`},
		{"odd property names", `{"type":"object","properties":{"a.b":{"type":"string"},"*":{"type":"string"},"\u00e9":{"type":"string"}},"required":["a.b","*","é"]}`,
			`{"type":"object","properties":{"a.b":{"type":"string"},"*":{"type":"string"},"é":{"type":"string"}},"required":["a.b","*","é"]}`},
		{"a property named twice: its last value, at its first place", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"},"a":{"type":"boolean"}},"required":["a","a","b"]}`,
			`{"type":"object","properties":{"a":{"type":"boolean"},"b":{"type":"integer"}},"required":["a","b"]}`},
		{"default and example written again", `{"type":"object","properties":{"o":{"type":"object","properties":{"k":{"type":"string"}},"default":{"k":"x \"y\"","n":[1.50,null,true]},"example":{"k":"z"}}}}`,
			`{"type":"object","properties":{"o":{"type":"object","properties":{"k":{"type":"string"}},"default":{"k":"x \"y\"","n":[1.50,null,true]},"example":{"k":"z"}}}}`},
		{"no parameters", `{"type":"object","properties":{},"additionalProperties":false}`, ``},
		{"empty", `{}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := convertSchema([]byte(tc.in), "p", false)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Fatalf("converted\n%s\nwant\n%s", got, tc.want)
			}
			if got != nil && !json.Valid(got) {
				t.Fatalf("not JSON: %s", got)
			}
		})
	}
}

func TestConvertSchemaPropertyOrdering(t *testing.T) {
	got, err := convertSchema([]byte(`{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"object","properties":{"y":{"type":"string"},"b":{"type":"string"}}}}}`), "p", true)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"object","properties":{"z":{"type":"string"},"a":{"type":"object","properties":{"y":{"type":"string"},"b":{"type":"string"}},"propertyOrdering":["y","b"]}},"propertyOrdering":["z","a"]}`
	if string(got) != want {
		t.Fatalf("converted\n%s\nwant\n%s", got, want)
	}
}

// What Gemini cannot take is a 400 naming the place in the schema.
func TestConvertSchemaRefusals(t *testing.T) {
	for _, tc := range []struct{ name, in, param, msg string }{
		{"recursive", `{"type":"object","properties":{"next":{"$ref":"#/$defs/Node"}},"$defs":{"Node":{"type":"object","properties":{"next":{"$ref":"#/$defs/Node"}}}}}`,
			"p.properties.next.$ref.properties.next.$ref", "recursive"},
		{"the root", `{"type":"object","properties":{"self":{"$ref":"#"}}}`, "p.properties.self.$ref.properties.self.$ref", "recursive"},
		{"remote", `{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`, "p.properties.a.$ref", "only local"},
		{"dangling", `{"type":"object","properties":{"a":{"$ref":"#/$defs/Nope"}}}`, "p.properties.a.$ref", "points to nothing"},
		{"bad index", `{"type":"object","properties":{"a":{"$ref":"#/x/5"}},"x":[1]}`, "p.properties.a.$ref", "points to nothing"},
		{"ref not a string", `{"type":"object","properties":{"a":{"$ref":5}}}`, "p.properties.a.$ref", "only local"},
		{"allOf of two", `{"allOf":[{"type":"object"},{"type":"object"}]}`, "p.allOf", "one schema"},
		{"tuple", `{"type":"array","items":[{"type":"string"}]}`, "p.items", "tuple"},
		{"unknown type", `{"type":"object","properties":{"a":{"type":"date"}}}`, "p.properties.a.type", "unknown type"},
		{"type not a string", `{"type":5}`, "p.type", "type must be"},
		{"type array of numbers", `{"type":[5]}`, "p.type", "type must be"},
		{"not an object", `{"type":"object","properties":{"a":5}}`, "p.properties.a", "must be an object"},
		{"false", `{"type":"object","properties":{"a":false}}`, "p.properties.a", "must be an object"},
		{"anyOf not an array", `{"anyOf":{}}`, "p.anyOf", "array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := convertSchema([]byte(tc.in), "p", false)
			e, ok := err.(*ownkey.Error)
			if !ok || e.Code != ownkey.EINVALID || e.Param != tc.param || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("err %#v, want param %s with %q", err, tc.param, tc.msg)
			}
		})
	}
}

// The limits on what $refs can make: a schema that doubles at every level
// is refused at 10,000 schemas, one that nests too deep at 64 levels.
func TestConvertSchemaLimits(t *testing.T) {
	var defs []string
	for i := 0; i < 20; i++ {
		defs = append(defs, `"d`+itoa(i)+`":{"type":"object","properties":{"a":{"$ref":"#/$defs/d`+itoa(i+1)+`"},"b":{"$ref":"#/$defs/d`+itoa(i+1)+`"}}}`)
	}
	defs = append(defs, `"d20":{"type":"string"}`)
	wide := `{"$ref":"#/$defs/d0","$defs":{` + strings.Join(defs, ",") + `}}`
	_, err := convertSchema([]byte(wide), "p", false)
	if e, ok := err.(*ownkey.Error); !ok || e.Param != "p" || !strings.Contains(e.Message, "more than 10000 schemas") {
		t.Fatalf("wide: %v", err)
	}

	defs = defs[:0]
	for i := 0; i < 70; i++ {
		defs = append(defs, `"d`+itoa(i)+`":{"type":"array","items":{"$ref":"#/$defs/d`+itoa(i+1)+`"}}`)
	}
	defs = append(defs, `"d70":{"type":"string"}`)
	deep := `{"$ref":"#/$defs/d0","$defs":{` + strings.Join(defs, ",") + `}}`
	_, err = convertSchema([]byte(deep), "p", false)
	if e, ok := err.(*ownkey.Error); !ok || e.Param != "p" || !strings.Contains(e.Message, "more than 64 levels") {
		t.Fatalf("deep: %v", err)
	}
	// A big description under a $ref used many times: the schema written
	// out is bounded in bytes too.
	var props []string
	for i := 0; i < 8; i++ {
		props = append(props, `"p`+itoa(i)+`":{"$ref":"#/$defs/Big"}`)
	}
	big := `{"type":"object","properties":{` + strings.Join(props, ",") + `},"$defs":{"Big":{"type":"string","description":"` + strings.Repeat("x", 600<<10) + `"}}}`
	_, err = convertSchema([]byte(big), "p", false)
	if e, ok := err.(*ownkey.Error); !ok || e.Param != "p" || !strings.Contains(e.Message, "larger than 4 MiB") {
		t.Fatalf("big: %v", err)
	}
	// Within: 6 of them.
	if out, err := convertSchema([]byte(strings.Replace(big, `,"p6":{"$ref":"#/$defs/Big"},"p7":{"$ref":"#/$defs/Big"}`, "", 1)), "p", false); err != nil || len(out) < 6*600<<10 {
		t.Fatalf("6 copies: %d bytes, %v", len(out), err)
	}

	// Just within: 30 levels.
	shallow := strings.Replace(deep, `"d30":{"type":"array","items":{"$ref":"#/$defs/d31"}}`, `"d30":{"type":"string"}`, 1)
	if _, err := convertSchema([]byte(shallow), "p", false); err != nil {
		t.Fatalf("30 levels: %v", err)
	}
}

// BenchmarkConvertSchema converts a tool schema as Pydantic writes them
// ($defs, anyOf with null, titles), and a hostile one: a definition with
// 100,000 members Gemini has no use for, written out through 4,000 $refs.
// The work is linear in the schema plus what is written: each object's
// keywords are read once, however often a $ref writes it out.
func BenchmarkConvertSchema(b *testing.B) {
	pydantic := []byte(`{"$defs":{"Address":{"properties":{"street":{"title":"Street","type":"string"},"city":{"title":"City","type":"string"},` +
		`"zip":{"anyOf":[{"type":"string","pattern":"^[0-9]{5}$"},{"type":"null"}],"default":null,"title":"Zip"}},"required":["street","city"],"title":"Address","type":"object"},` +
		`"Kind":{"enum":["home","work","other"],"title":"Kind","type":"string"}},` +
		`"properties":{"name":{"title":"Name","type":"string","minLength":1},"kind":{"$ref":"#/$defs/Kind"},"addresses":{"items":{"$ref":"#/$defs/Address"},"title":"Addresses","type":"array"},` +
		`"age":{"anyOf":[{"type":"integer","minimum":0},{"type":"null"}],"default":null,"title":"Age"},"tags":{"items":{"type":"string"},"type":"array","uniqueItems":true}},` +
		`"required":["name","kind","addresses"],"title":"Person","type":"object","additionalProperties":false}`)
	var junk, refs []string
	for i := 0; i < 100_000; i++ {
		junk = append(junk, `"x`+itoa(i)+`":0`)
	}
	for i := 0; i < 4000; i++ {
		refs = append(refs, `"p`+itoa(i)+`":{"$ref":"#/$defs/W"}`)
	}
	hostile := []byte(`{"type":"object","properties":{` + strings.Join(refs, ",") + `},"$defs":{"W":{"type":"string",` + strings.Join(junk, ",") + `}}}`)
	for _, bc := range []struct {
		name   string
		schema []byte
	}{{"pydantic", pydantic}, {"hostile", hostile}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.schema)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := convertSchema(bc.schema, "p", true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
