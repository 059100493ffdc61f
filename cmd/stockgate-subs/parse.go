package main

import (
	"bytes"
	"encoding/json"
	"errors"
)

// change is the part of an availabilityChanged (or availability) object
// the command reads. Strings alias the message buffer they were parsed
// from: use them before the next read.
type change struct {
	SKU        []byte
	Location   []byte
	Committed  int64
	Available  int64
	Seq        int64
	Coalesced  bool
	RecordedAt []byte
}

var errSlowPath = errors.New("not a plain flat object")

// findObject parses the flat JSON object that follows `"field":` in msg
// into c, reading only the fields change has. It is the fast path for
// the gateway's messages, which are small, flat and machine-written: it
// returns errSlowPath for anything it does not expect (an escaped string,
// a nested value, an "errors" member anywhere), and the caller then
// decodes the message with encoding/json.
func findObject(msg []byte, field string, c *change) error {
	if bytes.Contains(msg, []byte(`"errors"`)) {
		return errSlowPath
	}
	var key [64]byte
	k := append(append(append(key[:0], '"'), field...), `":`...)
	i := bytes.Index(msg, k)
	if i < 0 {
		return errSlowPath
	}
	return parseFlat(msg[i+len(k):], c)
}

// parseFlat parses one flat object at the start of b (after optional
// space) into c.
func parseFlat(b []byte, c *change) error {
	*c = change{}
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSlowPath
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return nil
	}
	for {
		key, j, err := readString(b, i)
		if err != nil {
			return err
		}
		j = skipSpace(b, j)
		if j >= len(b) || b[j] != ':' {
			return errSlowPath
		}
		j = skipSpace(b, j+1)
		if j >= len(b) {
			return errSlowPath
		}
		var str []byte
		var num int64
		var isNum bool
		switch ch := b[j]; {
		case ch == '"':
			if str, j, err = readString(b, j); err != nil {
				return err
			}
		case ch == '-' || ('0' <= ch && ch <= '9'):
			if num, j, err = readInt(b, j); err != nil {
				return err
			}
			isNum = true
		case bytes.HasPrefix(b[j:], []byte("true")):
			num, isNum, j = 1, true, j+4
		case bytes.HasPrefix(b[j:], []byte("false")):
			isNum, j = true, j+5
		case bytes.HasPrefix(b[j:], []byte("null")):
			j += 4
		default:
			return errSlowPath // nested object or array
		}
		switch string(key) { // no allocation: the compiler special-cases this conversion
		case "sku":
			c.SKU = str
		case "location":
			c.Location = str
		case "recordedAt":
			c.RecordedAt = str
		case "committed":
			c.Committed = num
		case "available":
			c.Available = num
		case "seq":
			c.Seq = num
		case "coalesced":
			c.Coalesced = isNum && num == 1
		}
		j = skipSpace(b, j)
		if j >= len(b) {
			return errSlowPath
		}
		switch b[j] {
		case ',':
			i = skipSpace(b, j+1)
		case '}':
			return nil
		default:
			return errSlowPath
		}
	}
}

// readString reads the string starting at b[i] == '"' and returns its
// contents and the index after its closing quote. An escape sends the
// caller to the slow path.
func readString(b []byte, i int) ([]byte, int, error) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, errSlowPath
	}
	end := bytes.IndexByte(b[i+1:], '"')
	if end < 0 {
		return nil, 0, errSlowPath
	}
	s := b[i+1 : i+1+end]
	if bytes.IndexByte(s, '\\') >= 0 {
		return nil, 0, errSlowPath
	}
	return s, i + end + 2, nil
}

// readInt reads the integer starting at b[i] and returns it and the
// index after it. A fraction, an exponent or more than 18 digits sends
// the caller to the slow path.
func readInt(b []byte, i int) (int64, int, error) {
	neg := b[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	if i == start || i-start > 18 || (i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E')) {
		return 0, 0, errSlowPath
	}
	if neg {
		n = -n
	}
	return n, i, nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// fullChange is change decoded by encoding/json, the slow path.
type fullChange struct {
	SKU        string `json:"sku"`
	Location   string `json:"location"`
	Committed  int64  `json:"committed"`
	Available  int64  `json:"available"`
	Seq        int64  `json:"seq"`
	Coalesced  bool   `json:"coalesced"`
	RecordedAt string `json:"recordedAt"`
}

func (f *fullChange) change() change {
	return change{
		SKU: []byte(f.SKU), Location: []byte(f.Location), Committed: f.Committed, Available: f.Available,
		Seq: f.Seq, Coalesced: f.Coalesced, RecordedAt: []byte(f.RecordedAt),
	}
}

// gqlError is one GraphQL error, with its extensions.code.
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// firstError returns the first error's text with its code, for messages.
func firstError(errs []gqlError) string {
	if len(errs) == 0 {
		return ""
	}
	e := errs[0]
	if e.Extensions.Code != "" {
		return e.Message + " (" + e.Extensions.Code + ")"
	}
	return e.Message
}

// decodeResult decodes a GraphQL result {"data":{field:{…}},"errors":[…]}
// with encoding/json: the slow path of findObject. ok is false when the
// field is null or absent.
func decodeResult(b []byte, field string) (c change, errs []gqlError, ok bool, err error) {
	var r struct {
		Data   map[string]*fullChange `json:"data"`
		Errors []gqlError             `json:"errors"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return change{}, nil, false, err
	}
	if f := r.Data[field]; f != nil {
		return f.change(), r.Errors, true, nil
	}
	return change{}, r.Errors, false, nil
}
