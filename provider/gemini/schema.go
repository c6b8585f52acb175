package gemini

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ownkey/ownkey"
	"github.com/ownkey/ownkey/jsontext"
	"github.com/ownkey/ownkey/jsonvalid"
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
	// maxSchemaBytes is the most a converted schema may weigh: a big enum
	// or description under a $ref used many times is written many times.
	maxSchemaBytes = 4 << 20
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

// numericKeywords are the bounds Gemini accepts, per type.
var numericKeywords = map[string][]string{
	"string":  {"minLength", "maxLength"},
	"number":  {"minimum", "maximum"},
	"integer": {"minimum", "maximum"},
	"array":   {"minItems", "maxItems"},
	"object":  {"minProperties", "maxProperties"},
}

// convertSchema turns the JSON Schema raw (a tool's parameters, a
// json_schema response_format's schema: valid JSON within the body's depth
// limit) into the subset of OpenAPI 3.0 that Gemini's Schema accepts. See
// the package comment for the rules. param names the schema in errors;
// ordering adds propertyOrdering (the key order given), which Gemini reads
// only in a response schema. A nil result means "no schema": a root that
// takes anything, or an object without properties, which Gemini refuses as
// a function's parameters.
//
// The schema is parsed once into a tree whose objects read their keywords
// once, so the work is linear in the schema's size plus what is written:
// a $ref written out many times costs what it writes, however large the
// object it points to.
func convertSchema(raw []byte, param string, ordering bool) ([]byte, error) {
	root, err := parseTree(raw)
	if err != nil {
		return nil, ownkey.FieldError(param, "the schema is not valid JSON")
	}
	c := schemaConverter{root: root, param: param, ordering: ordering}
	if err := c.node(root, param, 0, nil, false); err != nil {
		return nil, err
	}
	if len(c.out) > maxSchemaBytes {
		return nil, c.tooLarge()
	}
	if out := string(c.out); out == "{}" || out == `{"type":"object"}` {
		return nil, nil
	}
	return c.out, nil
}

// jnode is a JSON value, objects keeping their members in order.
type jnode struct {
	kind byte   // one of '{', '[', '"' (string), '0' (number), 't', 'f', 'n' (null)
	text string // a string's contents, a number's text
	keys []string
	vals []*jnode
	kw   *keywords // an object's schema keywords, read on first use
}

// parseTree reads a JSON text into a tree, without recursion. The text is
// valid JSON (the client's body was checked, and openaichat decoded it), so
// this is a scanner more than a parser; what it cannot read is an error all
// the same.
//
// Strings without escapes, and numbers, point into raw (which must not
// change while the tree is used: the conversion copies what it writes),
// and the nodes are allocated in blocks: a schema of many members costs few
// allocations.
func parseTree(raw []byte) (*jnode, error) {
	var root *jnode
	var stack []*jnode
	var slab []jnode
	newNode := func(kind byte) *jnode {
		if len(slab) == cap(slab) {
			slab = make([]jnode, 0, 256)
		}
		slab = append(slab, jnode{kind: kind})
		return &slab[len(slab)-1]
	}
	attach := func(n *jnode) bool {
		if len(stack) == 0 {
			if root != nil {
				return false
			}
			root = n
			return true
		}
		top := stack[len(stack)-1]
		if top.kind == '{' && len(top.keys) != len(top.vals)+1 {
			return false // a value where a key belongs
		}
		top.vals = append(top.vals, n)
		return true
	}
	for i := jsonvalid.SkipSpace(raw, 0); i < len(raw); i = jsonvalid.SkipSpace(raw, i) {
		c := raw[i]
		switch {
		case c == '{' || c == '[':
			n := newNode(c)
			if !attach(n) {
				return nil, errBadJSON
			}
			stack = append(stack, n)
			i++
		case c == '}' || c == ']':
			if len(stack) == 0 || stack[len(stack)-1].kind != c-2 { // '{'+2 == '}', '['+2 == ']'
				return nil, errBadJSON
			}
			stack = stack[:len(stack)-1]
			i++
		case c == ',' || c == ':':
			i++
		case c == '"':
			end := stringEnd(raw, i)
			if end < 0 {
				return nil, errBadJSON
			}
			text := view(raw[i+1 : end-1])
			if bytes.IndexByte(raw[i+1:end-1], '\\') >= 0 {
				text = string(jsontext.AppendUnescaped(nil, raw[i+1:end-1]))
			}
			i = end
			if top := len(stack) - 1; top >= 0 && stack[top].kind == '{' && len(stack[top].keys) == len(stack[top].vals) {
				stack[top].keys = append(stack[top].keys, text)
				continue
			}
			n := newNode('"')
			n.text = text
			if !attach(n) {
				return nil, errBadJSON
			}
		default:
			j := i
			for j < len(raw) && !jsonvalid.IsSpace(raw[j]) && raw[j] != ',' && raw[j] != '}' && raw[j] != ']' && raw[j] != ':' {
				j++
			}
			n := newNode(0)
			switch lit := view(raw[i:j]); {
			case lit == "true":
				n.kind = 't'
			case lit == "false":
				n.kind = 'f'
			case lit == "null":
				n.kind = 'n'
			case lit != "" && (lit[0] == '-' || lit[0] >= '0' && lit[0] <= '9'):
				n.kind, n.text = '0', lit
			default:
				return nil, errBadJSON
			}
			if !attach(n) {
				return nil, errBadJSON
			}
			i = j
		}
	}
	if root == nil || len(stack) != 0 {
		return nil, errBadJSON
	}
	return root, nil
}

var errBadJSON = errors.New("not valid JSON")

// stringEnd returns the index just past the string that opens at s[i], -1
// when it does not close.
func stringEnd(s []byte, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// get is the member key of an object (the last one of that name, as for
// encoding/json), nil when there is none.
func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != '{' {
		return nil
	}
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i] == key {
			return n.vals[i]
		}
	}
	return nil
}

func (n *jnode) isString() bool { return n != nil && n.kind == '"' }

// keywords are the members of a schema object the conversion reads, found
// in one pass over its members and kept on the node, so that a schema
// written out many times through $refs is read once.
type keywords struct {
	ref, description, title, format, typ, nullable, anyOf, oneOf, allOf *jnode
	items, enum, constant, pattern, def, example                        *jnode
	numeric                                                             map[string]*jnode
	hasProperties                                                       bool
	// The properties, a name given twice counted once (its last value,
	// at its first place), and the required names among them.
	propNames []string
	propVals  []*jnode
	required  []string
}

func (n *jnode) keywords() *keywords {
	if n.kw != nil {
		return n.kw
	}
	kw := &keywords{}
	for i, k := range n.keys {
		v := n.vals[i]
		switch k {
		case "$ref":
			kw.ref = v
		case "description":
			kw.description = v
		case "title":
			kw.title = v
		case "format":
			kw.format = v
		case "type":
			kw.typ = v
		case "nullable":
			kw.nullable = v
		case "anyOf":
			kw.anyOf = v
		case "oneOf":
			kw.oneOf = v
		case "allOf":
			kw.allOf = v
		case "items":
			kw.items = v
		case "enum":
			kw.enum = v
		case "const":
			kw.constant = v
		case "pattern":
			kw.pattern = v
		case "default":
			kw.def = v
		case "example":
			kw.example = v
		case "properties":
			kw.hasProperties = v.kind == '{'
			kw.propNames, kw.propVals = nil, nil
			if v.kind == '{' {
				at := make(map[string]int, len(v.keys))
				for j, name := range v.keys {
					if p, seen := at[name]; seen {
						kw.propVals[p] = v.vals[j]
						continue
					}
					at[name] = len(kw.propNames)
					kw.propNames, kw.propVals = append(kw.propNames, name), append(kw.propVals, v.vals[j])
				}
			}
		case "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "minProperties", "maxProperties":
			if kw.numeric == nil {
				kw.numeric = map[string]*jnode{}
			}
			kw.numeric[k] = v
		}
	}
	if req := n.get("required"); req != nil && req.kind == '[' && len(kw.propNames) > 0 {
		names := make(map[string]bool, len(kw.propNames))
		for _, name := range kw.propNames {
			names[name] = true
		}
		for _, r := range req.vals {
			if r.kind == '"' && names[r.text] {
				kw.required = append(kw.required, r.text)
				names[r.text] = false // once
			}
		}
	}
	n.kw = kw
	return kw
}

type schemaConverter struct {
	root     *jnode
	param    string
	ordering bool
	out      []byte
	nodes    int
	refs     []string // the $refs being written out, innermost last
}

func (c *schemaConverter) tooLarge() error {
	return ownkey.FieldError(c.param, "the schema is larger than %d MiB once its $refs are written out, more than Gemini accepts", maxSchemaBytes>>20)
}

// node writes the schema s, found at path, as Gemini's. desc, when set,
// replaces its description (the description beside a $ref); null makes it
// nullable (the other variant of {anyOf: [s, null]}).
func (c *schemaConverter) node(s *jnode, path string, depth int, desc *jnode, null bool) error {
	c.nodes++
	switch {
	case c.nodes > maxSchemaNodes:
		return ownkey.FieldError(c.param, "the schema holds more than %d schemas once its $refs are written out, more than Gemini accepts", maxSchemaNodes)
	case depth > maxSchemaDepth:
		return ownkey.FieldError(c.param, "the schema nests more than %d levels deep once its $refs are written out, more than Gemini accepts", maxSchemaDepth)
	case len(c.out) > maxSchemaBytes:
		return c.tooLarge()
	}
	switch s.kind {
	case 't':
		c.out = append(c.out, "{}"...) // anything, null included
		return nil
	case '{':
	default:
		return ownkey.FieldError(path, "a JSON Schema must be an object (or true)")
	}
	kw := s.keywords()
	if desc == nil && kw.description.isString() {
		desc = kw.description
	}
	if kw.ref != nil {
		return c.ref(kw.ref, path, depth, desc, null)
	}
	if all := kw.allOf; all != nil {
		if all.kind != '[' || len(all.vals) != 1 {
			return ownkey.FieldError(path+".allOf", "allOf is supported with one schema only: Gemini's schemas cannot intersect several")
		}
		return c.node(all.vals[0], path+".allOf[0]", depth+1, desc, null)
	}

	// The types, and whether null is one of them (nullable).
	var types []string
	nullable := null || (kw.nullable != nil && kw.nullable.kind == 't')
	switch t := kw.typ; {
	case t == nil:
	case t.kind == '"':
		types = append(types, t.text)
	case t.kind == '[':
		for _, v := range t.vals {
			if v.kind != '"' {
				return ownkey.FieldError(path+".type", "type must be a string or an array of strings")
			}
			types = append(types, v.text)
		}
	default:
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
	variants, vkey := kw.anyOf, "anyOf"
	if variants == nil {
		variants, vkey = kw.oneOf, "oneOf"
	}
	if variants != nil {
		if variants.kind != '[' {
			return ownkey.FieldError(path+"."+vkey, "%s must be an array of schemas", vkey)
		}
		var kept []int
		for i, v := range variants.vals {
			if isNullSchema(v) {
				nullable = true
				continue
			}
			kept = append(kept, i)
		}
		at := func(i int) string { return path + "." + vkey + "[" + strconv.Itoa(i) + "]" }
		if len(kept) == 1 && len(types) == 0 {
			// {anyOf: [X, null]}: X, nullable.
			return c.node(variants.vals[kept[0]], at(kept[0]), depth+1, desc, nullable)
		}
		if len(kept) > 0 {
			c.out = append(c.out, `{"anyOf":[`...)
			for j, i := range kept {
				if j > 0 {
					c.out = append(c.out, ',')
				}
				if err := c.node(variants.vals[i], at(i), depth+1, nil, false); err != nil {
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
	enum := kw.enum
	if enum == nil && kw.constant.isString() {
		enum = &jnode{kind: '[', vals: []*jnode{kw.constant}}
	}
	if !allStrings(enum) {
		enum = nil // Gemini's enums are strings only
	}
	switch {
	case typ == "" && kw.hasProperties:
		typ = "object"
	case typ == "" && kw.items != nil:
		typ = "array"
	case typ == "" && enum != nil:
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
	if f := kw.format; f.isString() && slices.Contains(schemaFormats[typ], f.text) {
		key("format")
		c.out = jsontext.AppendString(c.out, f.text)
	}
	if t := kw.title; t.isString() {
		key("title")
		c.out = jsontext.AppendString(c.out, t.text)
	}
	if desc != nil {
		key("description")
		c.out = jsontext.AppendString(c.out, desc.text)
	}
	if nullable {
		key("nullable")
		c.out = append(c.out, "true"...)
	}
	if enum != nil && typ == "string" {
		key("enum")
		c.out = appendJSON(c.out, enum)
	}
	if typ == "object" && len(kw.propNames) > 0 {
		key("properties")
		c.out = append(c.out, '{')
		for i, name := range kw.propNames {
			if i > 0 {
				c.out = append(c.out, ',')
			}
			c.out = append(jsontext.AppendString(c.out, name), ':')
			if err := c.node(kw.propVals[i], path+".properties."+name, depth+1, nil, false); err != nil {
				return err
			}
		}
		c.out = append(c.out, '}')
		// required: only names that are properties (Gemini refuses the
		// others).
		if len(kw.required) > 0 {
			key("required")
			c.out = appendStrings(c.out, kw.required)
		}
		if c.ordering && len(kw.propNames) > 1 {
			key("propertyOrdering")
			c.out = appendStrings(c.out, kw.propNames)
		}
	}
	if typ == "array" && kw.items != nil {
		if kw.items.kind == '[' {
			return ownkey.FieldError(path+".items", "items must be one schema: Gemini has no tuple schemas")
		}
		key("items")
		if err := c.node(kw.items, path+".items", depth+1, nil, false); err != nil {
			return err
		}
	}
	for _, k := range numericKeywords[typ] {
		if v := kw.numeric[k]; v != nil && v.kind == '0' {
			key(k)
			c.out = append(c.out, v.text...)
		}
	}
	if typ == "string" && kw.pattern.isString() {
		key("pattern")
		c.out = jsontext.AppendString(c.out, kw.pattern.text)
	}
	if kw.def != nil && typ != "" {
		key("default")
		c.out = appendJSON(c.out, kw.def)
	}
	if kw.example != nil {
		key("example")
		c.out = appendJSON(c.out, kw.example)
	}
	c.out = append(c.out, '}')
	return nil
}

// tail ends an anyOf schema with its description and nullable.
func (c *schemaConverter) tail(desc *jnode, nullable bool) {
	if desc != nil {
		c.out = jsontext.AppendString(append(c.out, `,"description":`...), desc.text)
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
func (c *schemaConverter) ref(ref *jnode, path string, depth int, desc *jnode, null bool) error {
	at := path + ".$ref"
	if !ref.isString() || !strings.HasPrefix(ref.text, "#") {
		return ownkey.FieldError(at, "only local $refs (#/$defs/…) are supported: ownkey does not fetch schemas")
	}
	if slices.Contains(c.refs, ref.text) {
		return ownkey.FieldError(at, "the schema refers to itself ($ref %s): Gemini's schemas cannot be recursive", safeText(ref.text))
	}
	target, err := c.resolve(ref.text)
	if err != nil {
		return ownkey.FieldError(at, "%s", err.Error())
	}
	c.refs = append(c.refs, ref.text)
	err = c.node(target, at, depth+1, desc, null)
	c.refs = c.refs[:len(c.refs)-1]
	return err
}

// resolve follows a JSON pointer fragment ("#/$defs/a~1b") from the root.
func (c *schemaConverter) resolve(ref string) (*jnode, error) {
	frag, err := url.PathUnescape(ref[1:])
	if err != nil {
		return nil, fmt.Errorf("$ref %s is not a valid JSON pointer", safeText(ref))
	}
	cur := c.root
	if frag == "" {
		return cur, nil
	}
	if frag[0] != '/' {
		return nil, fmt.Errorf("$ref %s is not a JSON pointer (#/…)", safeText(ref))
	}
	for _, seg := range strings.Split(frag[1:], "/") {
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		switch cur.kind {
		case '{':
			cur = cur.get(seg)
		case '[':
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(cur.vals) {
				return nil, fmt.Errorf("$ref %s points to nothing", safeText(ref))
			}
			cur = cur.vals[i]
		default:
			cur = nil
		}
		if cur == nil {
			return nil, fmt.Errorf("$ref %s points to nothing", safeText(ref))
		}
	}
	return cur, nil
}

// isNullSchema reports whether s is {"type":"null"}, the null variant of an
// anyOf.
func isNullSchema(s *jnode) bool {
	if s.kind != '{' {
		return false
	}
	t := s.keywords().typ
	return t.isString() && t.text == "null"
}

// allStrings reports whether v is a non-empty array of strings.
func allStrings(v *jnode) bool {
	if v == nil || v.kind != '[' || len(v.vals) == 0 {
		return false
	}
	for _, e := range v.vals {
		if e.kind != '"' {
			return false
		}
	}
	return true
}

// appendJSON appends n as JSON text.
func appendJSON(b []byte, n *jnode) []byte {
	switch n.kind {
	case '"':
		return jsontext.AppendString(b, n.text)
	case '0':
		return append(b, n.text...)
	case 't':
		return append(b, "true"...)
	case 'f':
		return append(b, "false"...)
	case 'n':
		return append(b, "null"...)
	case '[':
		b = append(b, '[')
		for i, v := range n.vals {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, v)
		}
		return append(b, ']')
	}
	b = append(b, '{')
	for i, k := range n.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSON(append(jsontext.AppendString(b, k), ':'), n.vals[i])
	}
	return append(b, '}')
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsontext.AppendString(b, s)
	}
	return append(b, ']')
}

// safeText quotes a client's text in an error message: short, printable.
func safeText(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return string(jsontext.AppendString(nil, s))
}
