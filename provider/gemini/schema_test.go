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
			`{"type":"object","properties":{"a.b":{"type":"string"},"*":{"type":"string"},"\u00e9":{"type":"string"}},"required":["a.b","*","é"]}`},
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
	// Just within: 30 levels.
	shallow := strings.Replace(deep, `"d30":{"type":"array","items":{"$ref":"#/$defs/d31"}}`, `"d30":{"type":"string"}`, 1)
	if _, err := convertSchema([]byte(shallow), "p", false); err != nil {
		t.Fatalf("30 levels: %v", err)
	}
}
