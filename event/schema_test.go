package event

import (
	"bytes"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const schemasGolden = "testdata/schemas.golden.json"

// TestSchemasGolden compares the embedded schemas, and which type each
// belongs to, with testdata/schemas.golden.json, so that a contract change
// needs -update and shows in review as a diff of the golden copy.
func TestSchemasGolden(t *testing.T) {
	type entry struct {
		Type   Type            `json:"type"`
		File   string          `json:"file"`
		Schema json.RawMessage `json:"schema"`
	}
	var all []entry
	for _, typ := range Types {
		raw, err := Schema(typ)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, entry{typ, SchemaFile(typ), raw})
	}
	got, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(schemasGolden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := readFile(t, schemasGolden); !bytes.Equal(got, want) {
		t.Errorf("the embedded schemas differ from %s: a contract change? If intended, run go test ./event -update and review the diff.\ngot:\n%s", schemasGolden, got)
	}
}

// TestSchemaFiles checks that the types and the schema files match one to
// one and that every schema compiles.
func TestSchemaFiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("schemas/*.json")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, typ := range Types {
		want = append(want, SchemaFile(typ))
		if _, err := schemaFor(typ); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		raw, err := Schema(typ)
		if err != nil {
			t.Fatalf("Schema(%s): %v", typ, err)
		}
		var doc struct {
			ID string `json:"$id"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || path.Base(doc.ID) != path.Base(SchemaFile(typ)) {
			t.Errorf("%s: $id %q does not name %s (%v)", typ, doc.ID, SchemaFile(typ), err)
		}
	}
	slices.Sort(files)
	slices.Sort(want)
	if !slices.Equal(files, want) {
		t.Errorf("schema files %v, want one per type: %v", files, want)
	}
	if _, err := Schema("com.stockgate.stock.teleported.v1"); err == nil {
		t.Error("Schema of an unknown type succeeded")
	}
}

// TestSchemasMatchStructs checks each schema against its Go type: every
// field the Go type always writes is a property (or no event could be
// built), and every property is a field (or Parse would lose it).
func TestSchemasMatchStructs(t *testing.T) {
	t.Parallel()
	for _, typ := range Types {
		raw, _ := Schema(typ)
		var doc struct {
			Required   []string                   `json:"required"`
			Properties map[string]json.RawMessage `json:"properties"`
			Additional *bool                      `json:"additionalProperties"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Additional == nil || *doc.Additional {
			t.Errorf("%s: additionalProperties must be false", typ)
		}
		var rt reflect.Type = reflect.TypeFor[Movement]()
		if typ == AvailabilityChanged {
			rt = reflect.TypeFor[Availability]()
		}
		fields := map[string]bool{} // json name → omitempty
		for f := range rt.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields[name] = opts == "omitempty"
		}
		for name, omitempty := range fields {
			if _, ok := doc.Properties[name]; !ok && !omitempty {
				t.Errorf("%s: %s.%s is always written but not a schema property", typ, rt.Name(), name)
			}
		}
		for name := range doc.Properties {
			if _, ok := fields[name]; !ok {
				t.Errorf("%s: property %s has no field in %s", typ, name, rt.Name())
			}
		}
		for _, name := range doc.Required {
			if _, ok := doc.Properties[name]; !ok {
				t.Errorf("%s: required %s is not a property", typ, name)
			}
		}
	}
}
