package normalize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// docPath is the human-readable field table, rendered from the JSON
// Schema so the two cannot drift apart (go test -update rewrites it).
const docPath = "../../docs/schema.md"

// TestSchemaDoc renders docs/schema.md from schema/event.v1.schema.json
// and fails when the checked-in file differs.
func TestSchemaDoc(t *testing.T) {
	raw, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&s); err != nil {
		t.Fatal(err)
	}
	// Decode keeps no key order; the schema file's order is the output's,
	// so read it back from the file.
	order := keyOrder(t, raw)
	got := renderDoc(s, order)
	if *update {
		if err := os.MkdirAll("../../docs", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s is out of date with %s: run go test -update ./normalize/", docPath, schemaFile)
	}
}

// keyOrder maps each JSON object (by its path) to its keys in file order.
func keyOrder(t *testing.T, raw []byte) map[string][]string {
	out := map[string][]string{}
	d := json.NewDecoder(bytes.NewReader(raw))
	var walk func(path string) error
	walk = func(path string) error {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return err
				}
				out[path] = append(out[path], k.(string))
				if err := walk(path + "/" + k.(string)); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		case json.Delim('['):
			for i := 0; d.More(); i++ {
				if err := walk(fmt.Sprintf("%s/%d", path, i)); err != nil {
					return err
				}
			}
			_, err = d.Token()
			return err
		}
		return nil
	}
	if err := walk(""); err != nil {
		t.Fatal(err)
	}
	return out
}

func renderDoc(s map[string]any, order map[string][]string) []byte {
	var b bytes.Buffer
	defs := s["$defs"].(map[string]any)
	fmt.Fprintf(&b, "# Normalized event schema v1\n\n")
	fmt.Fprintf(&b, "Generated from `fanout/normalize/%s` by `go test -update ./normalize/` (in `fanout/`); edit the schema, not this file.\n\n", schemaFile)
	fmt.Fprintf(&b, "%s\n", s["description"])
	renderObject(&b, "Top level", "", s, order, "")
	for _, name := range order["/$defs"] {
		def := defs[name].(map[string]any)
		switch {
		case def["properties"] != nil:
			renderObject(&b, name, name, def, order, "/$defs/"+name)
		case def["type"] == "array" && def["items"].(map[string]any)["properties"] != nil:
			renderObject(&b, name+"[]", name+"[]", def["items"].(map[string]any), order, "/$defs/"+name+"/items")
		case name == "arg":
			fmt.Fprintf(&b, "\n## arg\n\n%s\n\n| type | value key holds | description |\n|---|---|---|\n", def["description"])
			var nested []int
			for i, o := range def["oneOf"].([]any) {
				o := o.(map[string]any)
				ps := o["properties"].(map[string]any)
				kind := ps["type"].(map[string]any)["const"].(string)
				v, ok := ps[kind].(map[string]any)
				desc := o["description"]
				typ := "—"
				if ok {
					typ = typeOf(v)
					desc = v["description"]
					if v["properties"] != nil {
						nested = append(nested, i)
					}
				}
				fmt.Fprintf(&b, "| `%s` | %s | %s |\n", kind, typ, cell(desc))
			}
			for _, i := range nested {
				o := def["oneOf"].([]any)[i].(map[string]any)
				kind := o["properties"].(map[string]any)["type"].(map[string]any)["const"].(string)
				v := o["properties"].(map[string]any)[kind].(map[string]any)
				renderObject(&b, "arg `"+kind+"`", "", v, order, fmt.Sprintf("/$defs/arg/oneOf/%d/properties/%s", i, kind))
			}
		}
	}
	return b.Bytes()
}

// renderObject writes one object's table, then a section for each inline
// object among its fields (named by dotted path).
func renderObject(b *bytes.Buffer, title, path string, obj map[string]any, order map[string][]string, ptr string) {
	fmt.Fprintf(b, "\n## %s\n\n", title)
	if d, ok := obj["description"].(string); ok && path != "" {
		fmt.Fprintf(b, "%s\n\n", d)
	}
	props := obj["properties"].(map[string]any)
	keys := order[ptr+"/properties"]
	writeTable(b, props, keys, obj["required"])
	for _, k := range keys {
		p := props[k].(map[string]any)
		sub := k
		if path != "" {
			sub = path + "." + k
		}
		if p["type"] == "object" && p["properties"] != nil {
			renderObject(b, "`"+sub+"`", sub, p, order, ptr+"/properties/"+k)
		}
		if it, ok := p["items"].(map[string]any); ok && it["type"] == "object" && it["properties"] != nil {
			renderObject(b, "`"+sub+"[]`", sub+"[]", it, order, ptr+"/properties/"+k+"/items")
		}
	}
}

func writeTable(b *bytes.Buffer, props map[string]any, order []string, required any) {
	var req []string
	if r, ok := required.([]any); ok {
		for _, x := range r {
			req = append(req, x.(string))
		}
	}
	b.WriteString("| field | type | description |\n|---|---|---|\n")
	for _, k := range order {
		p := props[k].(map[string]any)
		name := "`" + k + "`"
		if slices.Contains(req, k) {
			name += " (always)"
		}
		fmt.Fprintf(b, "| %s | %s | %s |\n", name, typeOf(p), cell(p["description"]))
	}
}

func typeOf(p map[string]any) string {
	if r, ok := p["$ref"].(string); ok {
		name := strings.TrimPrefix(r, "#/$defs/")
		switch name {
		case "uint32", "uint64", "int32", "int64", "timestamp", "string_map", "enum_name":
			return name
		}
		return "[" + name + "](#" + name + ")"
	}
	if c, ok := p["const"]; ok {
		return fmt.Sprintf("const `%v`", c)
	}
	switch p["type"] {
	case "array":
		return "array of " + typeOf(p["items"].(map[string]any))
	case "object":
		return "object"
	case nil:
		return "—"
	}
	if _, ok := p["enum"]; ok {
		return "string (enum)"
	}
	return p["type"].(string)
}

func cell(v any) string {
	s, _ := v.(string)
	return strings.ReplaceAll(s, "|", "\\|")
}
