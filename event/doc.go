// Package event defines stockgate's canonical events: the closed, versioned
// set of stock movements every connector normalizes into, carried in a
// CloudEvents 1.0 envelope and checked against a JSON Schema per type.
//
// Every event that enters the bus is built with [NewMovement] or
// [NewAvailability] and every event read from the bus is parsed with
// [Parse]; both enforce the type's schema, so a malformed event is stopped
// at the edge that produced it and again at the consumer. The builders
// hand the validator a document made straight from the typed data rather
// than marshalling and decoding it again, and Parse decodes the data once
// for the validator and converts that document to the typed data.
//
// # Types
//
// The set is closed: [ParseType] rejects any type string that is not listed
// in [Types]. A type's name carries its major version (".v1"); a change that
// breaks the schema adds a new type rather than editing the old one. The
// schemas live in schemas/*.json and are embedded in the binary. So that a
// contract change shows in review, testdata/schemas.golden.json holds a
// copy of every schema and testdata/samples holds one golden event per
// type; `go test ./event -update` rewrites both.
//
// # Errors
//
// [Parse] returns an error wrapping [ErrUnknownType] for a type (or version)
// outside the set and [ErrInvalid] for an event that breaks its schema or the
// CloudEvents rules; the message names the attribute or the data property
// at fault. Callers keep such events in the dead-letter store; they are
// never dropped, and for an unknown type Parse always returns the envelope
// it read.
package event
