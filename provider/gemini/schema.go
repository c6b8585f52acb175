package gemini

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
)

// Limits of the schema conversion: the schema Gemini gets once every $ref
// is written out. Each is a 400 naming the field when it is passed. They
// bound what a client can make ownkey build (a $ref used twice at every
// level doubles the schema per level) far above what Gemini accepts.
const (
	// maxSchemaNodes is the most schemas (the root, every property, item,
	// anyOf member…) a converted schema may hold.
	maxSchemaNodes = 10_000
	// maxSchemaDepth is how deeply schemas may nest once written out.
	maxSchemaDepth = 64
)

// schemaTypes are the JSON Schema types Gemini's Schema knows; they pass in
// lower case, as the API accepts them.
var schemaTypes = []string{"string", "number", "integer", "boolean", "array", "object"}

// schemaFormats are the formats Gemini accepts for each type; others are
// dropped (Gemini refuses the request for a format it does not know).
var schemaFormats = map[string][]string{
	"string":  {"date-time", "enum"},
	"number":  {"float", "double"},
	"integer": {"int32", "int64"},
}

// convertSchema turns the JSON Schema raw (a tool's parameters, a
// json_schema response_format's schema: valid JSON within the body's depth
// limit) into the subset of OpenAPI 3.0 that Gemini's Schema accepts. See
// the package comment for the rules. param names the schema in errors;
// ordering adds propertyOrdering (the key order given), which Gemini reads
// only in a response schema. An empty result means "no schema": a root that
// takes anything, or an object without properties, which Gemini refuses as
// a function's parameters.
func convertSchema(raw []byte, param string, ordering bool) ([]byte, error) {
	root := gjson.ParseBytes(raw)
	c := schemaConverter{root: root, param: param, ordering: ordering}
	if err := c.node(root, param, 0, "", false); err != nil {
		return nil, err
	}
	if out := string(c.out); out == "{}" || out == `{"type":"object"}` {
		return nil, nil
	}
	return c.out, nil
}

type schemaConverter struct {
	root     gjson.Result
	param    string
	ordering bool
	out      []byte
	nodes    int
	refs     []string // the $refs being written out, innermost last
}

// member returns the member of the object s named key, by its decoded name
// (no gjson path syntax: a property may be called "a.b" or "*").
func member(s gjson.Result, key string) gjson.Result {
	var found gjson.Result
	s.ForEach(func(k, v gjson.Result) bool {
		if k.Str == key {
			found = v
			return false
		}
		return true
	})
	return found
}

// node writes the schema s, found at path, as Gemini's. desc, when set,
// replaces its description (the description beside a $ref); null makes it
// nullable (the other variant of {anyOf: [s, null]}).
func (c *schemaConverter) node(s gjson.Result, path string, depth int, desc string, null bool) error {
	c.nodes++
	switch {
	case c.nodes > maxSchemaNodes:
		return ownkey.FieldError(c.param, "the schema holds more than %d schemas once its $refs are written out, more than Gemini accepts", maxSchemaNodes)
	case depth > maxSchemaDepth:
		return ownkey.FieldError(c.param, "the schema nests more than %d levels deep once its $refs are written out, more than Gemini accepts", maxSchemaDepth)
	}
	switch {
	case s.Type == gjson.True:
		c.out = append(c.out, "{}"...) // anything, null included
		return nil
	case !s.IsObject():
		return ownkey.FieldError(path, "a JSON Schema must be an object (or true)")
	}
	if d := member(s, "description"); d.Type == gjson.String && desc == "" {
		desc = d.Raw
	}
	if ref := member(s, "$ref"); ref.Exists() {
		return c.ref(ref, path, depth, desc, null)
	}
	if all := member(s, "allOf"); all.Exists() {
		members := all.Array()
		if !all.IsArray() || len(members) != 1 {
			return ownkey.FieldError(path+".allOf", "allOf is supported with one schema only: Gemini's schemas cannot intersect several")
		}
		return c.node(members[0], path+".allOf[0]", depth+1, desc, null)
	}

	// The types, and whether null is one of them (nullable).
	var types []string
	nullable := null || member(s, "nullable").Type == gjson.True
	switch t := member(s, "type"); {
	case t.Type == gjson.String:
		types = append(types, t.Str)
	case t.IsArray():
		for _, v := range t.Array() {
			if v.Type != gjson.String {
				return ownkey.FieldError(path+".type", "type must be a string or an array of strings")
			}
			types = append(types, v.Str)
		}
	case t.Exists():
		return ownkey.FieldError(path+".type", "type must be a string or an array of strings")
	}
	if i := slices.Index(types, "null"); i >= 0 {
		types = slices.Delete(types, i, i+1)
		nullable = true
	}
	for _, t := range types {
		if !slices.Contains(schemaTypes, t) {
			return ownkey.FieldError(path+".type", "unknown type %s: Gemini knows %s and null", safeText(t), strings.Join(schemaTypes, ", "))
		}
	}

	// anyOf and oneOf (read as anyOf: Gemini has no exclusive choice).
	variants, vkey := member(s, "anyOf"), "anyOf"
	if !variants.Exists() {
		variants, vkey = member(s, "oneOf"), "oneOf"
	}
	if variants.Exists() {
		if !variants.IsArray() {
			return ownkey.FieldError(path+"."+vkey, "%s must be an array of schemas", vkey)
		}
		var kept []gjson.Result
		var keptAt []int
		for i, v := range variants.Array() {
			if isNullSchema(v) {
				nullable = true
				continue
			}
			kept, keptAt = append(kept, v), append(keptAt, i)
		}
		if len(kept) == 1 && len(types) == 0 {
			// {anyOf: [X, null]}: X, nullable.
			return c.node(kept[0], fmt.Sprintf("%s.%s[%d]", path, vkey, keptAt[0]), depth+1, desc, nullable)
		}
		if len(kept) > 0 {
			c.out = append(c.out, `{"anyOf":[`...)
			for i, v := range kept {
				if i > 0 {
					c.out = append(c.out, ',')
				}
				if err := c.node(v, fmt.Sprintf("%s.%s[%d]", path, vkey, keptAt[i]), depth+1, "", false); err != nil {
					return err
				}
			}
			c.out = append(c.out, ']')
			c.tail(desc, nullable)
			return nil
		}
	}
	if len(types) > 1 {
		// Several types: one variant each.
		c.out = append(c.out, `{"anyOf":[`...)
		for i, t := range types {
			if i > 0 {
				c.out = append(c.out, ',')
			}
			c.out = append(append(append(c.out, `{"type":"`...), t...), `"}`...)
		}
		c.out = append(c.out, ']')
		c.tail(desc, nullable)
		return nil
	}

	typ := ""
	if len(types) == 1 {
		typ = types[0]
	}
	props, items := member(s, "properties"), member(s, "items")
	enum := member(s, "enum")
	if cst := member(s, "const"); !enum.Exists() && cst.Type == gjson.String {
		enum = gjson.Parse("[" + cst.Raw + "]")
	}
	if !allStrings(enum) {
		enum = gjson.Result{} // Gemini's enums are strings only
	}
	switch {
	case typ == "" && props.IsObject():
		typ = "object"
	case typ == "" && items.Exists():
		typ = "array"
	case typ == "" && enum.Exists():
		typ = "string"
	}

	c.out = append(c.out, '{')
	first := true
	key := func(k string) {
		if !first {
			c.out = append(c.out, ',')
		}
		first = false
		c.out = append(append(append(c.out, '"'), k...), `":`...)
	}
	if typ != "" {
		key("type")
		c.out = append(append(append(c.out, '"'), typ...), '"')
	}
	if f := member(s, "format"); f.Type == gjson.String && slices.Contains(schemaFormats[typ], f.Str) {
		key("format")
		c.out = append(c.out, f.Raw...)
	}
	if t := member(s, "title"); t.Type == gjson.String {
		key("title")
		c.out = append(c.out, t.Raw...)
	}
	if desc != "" {
		key("description")
		c.out = append(c.out, desc...)
	}
	if nullable {
		key("nullable")
		c.out = append(c.out, "true"...)
	}
	if enum.Exists() && typ == "string" {
		key("enum")
		c.out = append(c.out, enum.Raw...)
	}
	if typ == "object" && props.IsObject() {
		var names []gjson.Result
		props.ForEach(func(k, _ gjson.Result) bool { names = append(names, k); return true })
		if len(names) > 0 {
			key("properties")
			c.out = append(c.out, '{')
			for i, k := range names {
				if i > 0 {
					c.out = append(c.out, ',')
				}
				c.out = append(append(c.out, k.Raw...), ':')
				// By name, not by position: a name given twice counts once,
				// as for encoding/json.
				if err := c.node(member(props, k.Str), path+".properties."+k.Str, depth+1, "", false); err != nil {
					return err
				}
			}
			c.out = append(c.out, '}')
			// required: only names that are properties (Gemini refuses the
			// others).
			if req := member(s, "required"); req.IsArray() {
				n := 0
				for _, r := range req.Array() {
					if r.Type == gjson.String && slices.ContainsFunc(names, func(k gjson.Result) bool { return k.Str == r.Str }) {
						if n == 0 {
							key("required")
							c.out = append(c.out, '[')
						} else {
							c.out = append(c.out, ',')
						}
						c.out = append(c.out, r.Raw...)
						n++
					}
				}
				if n > 0 {
					c.out = append(c.out, ']')
				}
			}
			if c.ordering && len(names) > 1 {
				key("propertyOrdering")
				c.out = append(c.out, '[')
				for i, k := range names {
					if i > 0 {
						c.out = append(c.out, ',')
					}
					c.out = append(c.out, k.Raw...)
				}
				c.out = append(c.out, ']')
			}
		}
	}
	if typ == "array" && items.Exists() {
		if items.IsArray() {
			return ownkey.FieldError(path+".items", "items must be one schema: Gemini has no tuple schemas")
		}
		key("items")
		if err := c.node(items, path+".items", depth+1, "", false); err != nil {
			return err
		}
	}
	for _, k := range numericKeywords[typ] {
		if v := member(s, k); v.Type == gjson.Number {
			key(k)
			c.out = append(c.out, v.Raw...)
		}
	}
	if typ == "string" {
		if p := member(s, "pattern"); p.Type == gjson.String {
			key("pattern")
			c.out = append(c.out, p.Raw...)
		}
	}
	if d := member(s, "default"); d.Exists() && typ != "" {
		key("default")
		c.out = append(c.out, d.Raw...)
	}
	if e := member(s, "example"); e.Exists() {
		key("example")
		c.out = append(c.out, e.Raw...)
	}
	c.out = append(c.out, '}')
	return nil
}

// numericKeywords are the bounds Gemini accepts, per type.
var numericKeywords = map[string][]string{
	"string":  {"minLength", "maxLength"},
	"number":  {"minimum", "maximum"},
	"integer": {"minimum", "maximum"},
	"array":   {"minItems", "maxItems"},
	"object":  {"minProperties", "maxProperties"},
}

// tail ends an anyOf schema with its description and nullable.
func (c *schemaConverter) tail(desc string, nullable bool) {
	if desc != "" {
		c.out = append(append(c.out, `,"description":`...), desc...)
	}
	if nullable {
		c.out = append(c.out, `,"nullable":true`...)
	}
	c.out = append(c.out, '}')
}

// ref writes the schema a local $ref ("#/$defs/Name", "#/definitions/…",
// any JSON pointer into the same schema) points to, in its place. Gemini
// has no references: they are written out, and a schema that refers to
// itself, which could only be written out forever, is refused.
func (c *schemaConverter) ref(ref gjson.Result, path string, depth int, desc string, null bool) error {
	at := path + ".$ref"
	if ref.Type != gjson.String || !strings.HasPrefix(ref.Str, "#") {
		return ownkey.FieldError(at, "only local $refs (#/$defs/…) are supported: ownkey does not fetch schemas")
	}
	if slices.Contains(c.refs, ref.Str) {
		return ownkey.FieldError(at, "the schema refers to itself ($ref %s): Gemini's schemas cannot be recursive", safeText(ref.Str))
	}
	target, err := c.resolve(ref.Str)
	if err != nil {
		return ownkey.FieldError(at, "%s", err.Error())
	}
	c.refs = append(c.refs, ref.Str)
	err = c.node(target, at, depth+1, desc, null)
	c.refs = c.refs[:len(c.refs)-1]
	return err
}

// resolve follows a JSON pointer fragment ("#/$defs/a~1b") from the root.
func (c *schemaConverter) resolve(ref string) (gjson.Result, error) {
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return gjson.Result{}, fmt.Errorf("$ref %s is not a valid JSON pointer", safeText(ref))
	}
	cur := c.root
	if frag == "" {
		return cur, nil
	}
	if frag[0] != '/' {
		return gjson.Result{}, fmt.Errorf("$ref %s is not a JSON pointer (#/…)", safeText(ref))
	}
	for _, seg := range strings.Split(frag[1:], "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch {
		case cur.IsObject():
			cur = member(cur, seg)
		case cur.IsArray():
			i, err := strconv.Atoi(seg)
			arr := cur.Array()
			if err != nil || i < 0 || i >= len(arr) {
				return gjson.Result{}, fmt.Errorf("$ref %s points to nothing", safeText(ref))
			}
			cur = arr[i]
		default:
			cur = gjson.Result{}
		}
		if !cur.Exists() {
			return gjson.Result{}, fmt.Errorf("$ref %s points to nothing", safeText(ref))
		}
	}
	return cur, nil
}

// isNullSchema reports whether s is {"type":"null"}, the null variant of an
// anyOf.
func isNullSchema(s gjson.Result) bool {
	t := member(s, "type")
	return t.Type == gjson.String && t.Str == "null"
}

// allStrings reports whether v is a non-empty array of strings.
func allStrings(v gjson.Result) bool {
	if !v.IsArray() {
		return false
	}
	n, ok := 0, true
	v.ForEach(func(_, e gjson.Result) bool {
		n++
		ok = e.Type == gjson.String
		return ok
	})
	return ok && n > 0
}

// safeText quotes a client's text in an error message: short, printable.
func safeText(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return string(jsontext.AppendString(nil, s))
}
