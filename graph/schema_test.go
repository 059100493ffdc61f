package graph

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/vektah/gqlparser/v2/formatter"
)

var update = flag.Bool("update", false, "rewrite the golden schema")

// TestSchemaGolden keeps a formatted copy of the served schema in
// testdata, so that a contract change shows up in review as a diff of the
// golden file. Run with -update after an intended change.
func TestSchemaGolden(t *testing.T) {
	es := NewExecutableSchema(Config{Resolvers: &Resolver{}, Directives: DirectiveRoot{HasRole: HasRole}})
	var buf bytes.Buffer
	formatter.NewFormatter(&buf, formatter.WithComments()).FormatSchema(es.Schema())
	const golden = "testdata/schema.golden.graphqls"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./graph -run TestSchemaGolden -update)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("the GraphQL schema changed; review the change and run go test ./graph -run TestSchemaGolden -update\n--- got ---\n%s", buf.String())
	}
}
