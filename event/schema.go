package event

import (
	"bytes"
	"embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schemas/*.json
var schemaFS embed.FS

var (
	schemasOnce sync.Once
	schemas     map[Type]*jsonschema.Schema
	schemasErr  error
)

// SchemaFile returns the file name of t's JSON Schema under schemas/.
func SchemaFile(t Type) string { return "schemas/" + t.Short() + "." + version(t) + ".json" }

func version(t Type) string {
	s := string(t)
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return s[i+1:]
		}
	}
	return ""
}

// Schema returns the raw JSON Schema document of t.
func Schema(t Type) ([]byte, error) {
	if _, err := ParseType(string(t)); err != nil {
		return nil, err
	}
	return schemaFS.ReadFile(SchemaFile(t))
}

func compileSchemas() {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	schemas = make(map[Type]*jsonschema.Schema, len(Types))
	for _, t := range Types {
		raw, err := schemaFS.ReadFile(SchemaFile(t))
		if err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		url := "mem:///" + SchemaFile(t)
		if err := c.AddResource(url, doc); err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		s, err := c.Compile(url)
		if err != nil {
			schemasErr = fmt.Errorf("event: schema for %s: %w", t, err)
			return
		}
		schemas[t] = s
	}
}

// ValidateData checks an event's JSON data against t's schema and the rules
// a schema cannot say (a transfer between two different locations).
func ValidateData(t Type, data []byte) error {
	schemasOnce.Do(compileSchemas)
	if schemasErr != nil {
		return schemasErr
	}
	s, ok := schemas[t]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, t)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: data is not JSON: %v", ErrInvalid, err)
	}
	if err := s.Validate(doc); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, t.Short(), err)
	}
	if t == StockTransferred {
		m, _ := doc.(map[string]any)
		if m["location"] == m["toLocation"] {
			return fmt.Errorf("%w: %s: toLocation must differ from location", ErrInvalid, t.Short())
		}
	}
	return nil
}
