package normalize

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/tetragon-fanout/tetragon-fanout/shared/eventtype"
)

// TestSchemaAgreesWithTable checks the parts of the JSON Schema that the
// eventtype table determines: the "type" enum, one type-specific object per
// type, the if/then that requires it and the dependentSchemas that tie it
// to its type. (Each object's own definition is written by hand.)
func TestSchemaAgreesWithTable(t *testing.T) {
	raw, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Properties map[string]struct {
			Enum []string `json:"enum"`
		} `json:"properties"`
		AllOf []struct {
			If struct {
				Properties struct {
					Type struct {
						Const string `json:"const"`
					} `json:"type"`
				} `json:"properties"`
			} `json:"if"`
			Then struct {
				Required []string `json:"required"`
			} `json:"then"`
		} `json:"allOf"`
		DependentSchemas map[string]struct {
			Properties struct {
				Type struct {
					Const string `json:"const"`
				} `json:"type"`
			} `json:"properties"`
		} `json:"dependentSchemas"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, row := range eventtype.Table() {
		names = append(names, row.Name)
		if _, ok := s.Properties[row.Object]; !ok {
			t.Errorf("%s: the schema has no property %q", row.Name, row.Object)
		}
		if d, ok := s.DependentSchemas[row.Object]; !ok || d.Properties.Type.Const != row.Name {
			t.Errorf("%s: dependentSchemas[%q] missing or not tied to its type", row.Name, row.Object)
		}
		n := 0
		for _, c := range s.AllOf {
			if c.If.Properties.Type.Const == row.Name {
				n++
				if !slices.Equal(c.Then.Required, []string{row.Object}) {
					t.Errorf("%s: allOf requires %v, want [%s]", row.Name, c.Then.Required, row.Object)
				}
			}
		}
		if n != 1 {
			t.Errorf("%s: %d allOf conditions, want 1", row.Name, n)
		}
	}
	if want := append(names, TypeUnknown); !slices.Equal(s.Properties["type"].Enum, want) {
		t.Errorf("type enum %v, want %v", s.Properties["type"].Enum, want)
	}
	if len(s.DependentSchemas) != len(names) {
		t.Errorf("%d dependentSchemas, %d types", len(s.DependentSchemas), len(names))
	}
}

// TestTypeObjectKeys: Append writes each type's object under the table's
// Object key (the key the schema test above ties to the type).
func TestTypeObjectKeys(t *testing.T) {
	for _, ev := range oneOfEach() {
		row := eventtype.Of(ev)
		var got map[string]json.RawMessage
		if err := json.Unmarshal(Append(nil, ev, Meta{EventID: "x"}), &got); err != nil {
			t.Fatal(err)
		}
		if _, ok := got[row.Object]; !ok {
			t.Errorf("%s: no %q object in the output", row.Name, row.Object)
		}
	}
}
