package event

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"
)

// The fast path. Running jsonschema/v6 on an event's data costs several
// microseconds, most of the cost of building one. compileSchemas therefore
// also reads each schema document into a fastRules: the few keywords our
// schemas use, as plain Go values. A value that passes its rules is valid;
// one that does not is handed to the validator, which stays the authority
// and writes the error message. The rules are conservative: where they are
// unsure (a leap second, a number written 1.0, a null) they say no, never
// yes. A schema using any keyword deriveRules does not know gets no rules,
// and its type always runs the validator. FuzzFastMovement,
// FuzzFastAvailability and FuzzFastDoc check that the rules never accept
// what the validator rejects.

// fastRules are the constraints of one type's schema on its data object.
type fastRules struct {
	props    map[string]*propRule
	required []string
	// closed is additionalProperties: false.
	closed bool
	// movement and availability are props aligned with movementFields
	// and availabilityFields (nil where the schema has no such property);
	// movementOff and availabilityOff are set when a required property is
	// not a field of the struct, so that no typed value can pass.
	movement, availability       [12]*propRule
	movementOff, availabilityOff bool
}

// jsonType is the "type" keyword of a property; anyType when absent.
type jsonType uint8

const (
	anyType jsonType = iota
	stringType
	integerType
	numberType
)

// propRule holds one property's constraints. Integer bounds are exact
// int64 values; a schema with a non-integer bound gets no rules.
type propRule struct {
	typ            jsonType
	required       bool
	minLen, maxLen int // -1: none
	hasMin, hasMax bool
	min, max       int64
	enum           []scalar // nil: no enum
	hasConst       bool
	constVal       scalar
	notConst       []scalar // from "not": {"const": …}
	dateTime       bool
	pattern        *regexp.Regexp
}

// scalar is a string or an int64 value, as a field holds one or as enum
// and const name one.
type scalar struct {
	isStr bool
	s     string
	i     int64
	// big marks an integer above math.MaxInt64, held in u.
	big bool
	u   uint64
}

func (a scalar) equal(b scalar) bool {
	if a.isStr || b.isStr {
		return a.isStr == b.isStr && a.s == b.s
	}
	if a.big || b.big {
		return a.big == b.big && a.u == b.u
	}
	return a.i == b.i
}

// movementFields and availabilityFields are the json names of the
// structs' fields, in the order movementValues and availabilityValues
// list their values.
var (
	movementFields = [...]string{
		"connector", "sourceEventId", "occurredAt", "sku", "location", "toLocation",
		"quantity", "state", "reason", "orderId", "correlationId",
	}
	availabilityFields = [...]string{
		"sku", "location", "onHand", "committed", "safetyStock", "available",
		"seq", "causeEventId", "causeType", "occurredAt", "recordedAt", "correlationId",
	}
)

const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// deriveRules reads the rules out of a schema document as
// jsonschema.UnmarshalJSON decodes it. It returns an error naming the first
// keyword or value it does not understand.
func deriveRules(doc any) (*fastRules, error) {
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema is not an object")
	}
	r := &fastRules{props: map[string]*propRule{}}
	var required []any
	for k, v := range root {
		switch k {
		case "$id", "title", "description", "$comment":
		case "$schema":
			if v != draft2020 {
				return nil, fmt.Errorf("$schema %v", v)
			}
		case "type":
			if v != "object" {
				return nil, fmt.Errorf("type %v", v)
			}
		case "additionalProperties":
			b, ok := v.(bool)
			if !ok {
				return nil, fmt.Errorf("additionalProperties %v", v)
			}
			r.closed = !b
		case "required":
			if required, ok = v.([]any); !ok {
				return nil, fmt.Errorf("required %v", v)
			}
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("properties %v", v)
			}
			for name, ps := range props {
				p, err := deriveProp(ps)
				if err != nil {
					return nil, fmt.Errorf("property %s: %v", name, err)
				}
				r.props[name] = p
			}
		default:
			return nil, fmt.Errorf("keyword %s", k)
		}
	}
	if _, ok := root["type"]; !ok {
		// Without "type": "object", a document that is not an object
		// passes; the fast path only knows objects.
		return nil, fmt.Errorf("no type")
	}
	for _, v := range required {
		name, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("required %v", v)
		}
		r.required = append(r.required, name)
		p := r.props[name]
		if p == nil {
			// Required but unconstrained: keep it as a property with no
			// rules, so the typed checks can mark it required.
			p = &propRule{minLen: -1, maxLen: -1}
			r.props[name] = p
		}
		p.required = true
	}
	r.movementOff = align(r, movementFields[:], r.movement[:])
	r.availabilityOff = align(r, availabilityFields[:], r.availability[:])
	return r, nil
}

// align fills dst with r's property rules for fields and reports whether a
// required property is missing from fields.
func align(r *fastRules, fields []string, dst []*propRule) (unreachable bool) {
	for i, f := range fields {
		dst[i] = r.props[f]
	}
	for _, name := range r.required {
		found := false
		for _, f := range fields {
			found = found || f == name
		}
		if !found {
			return true
		}
	}
	return false
}

func deriveProp(v any) (*propRule, error) {
	ps, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("schema %v is not an object", v)
	}
	p := &propRule{minLen: -1, maxLen: -1}
	var err error
	for k, v := range ps {
		switch k {
		case "title", "description", "$comment":
		case "type":
			switch v {
			case "string":
				p.typ = stringType
			case "integer":
				p.typ = integerType
			case "number":
				p.typ = numberType
			default:
				return nil, fmt.Errorf("type %v", v)
			}
		case "minLength":
			p.minLen, err = count(v)
		case "maxLength":
			p.maxLen, err = count(v)
		case "minimum":
			p.hasMin = true
			p.min, err = int64Of(v)
		case "maximum":
			p.hasMax = true
			p.max, err = int64Of(v)
		case "enum":
			vs, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("enum %v", v)
			}
			p.enum = make([]scalar, 0, len(vs))
			for _, e := range vs {
				s, err := scalarOf(e)
				if err != nil {
					return nil, fmt.Errorf("enum: %v", err)
				}
				p.enum = append(p.enum, s)
			}
		case "const":
			p.hasConst = true
			p.constVal, err = scalarOf(v)
		case "not":
			n, ok := v.(map[string]any)
			c, hasConst := n["const"]
			if !ok || len(n) != 1 || !hasConst {
				return nil, fmt.Errorf("not %v", v)
			}
			s, err := scalarOf(c)
			if err != nil {
				return nil, fmt.Errorf("not: %v", err)
			}
			p.notConst = append(p.notConst, s)
		case "format":
			if v != "date-time" {
				return nil, fmt.Errorf("format %v", v)
			}
			p.dateTime = true
		case "pattern":
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("pattern %v", v)
			}
			// The validator's default engine: regexp.Compile.
			p.pattern, err = regexp.Compile(s)
		default:
			return nil, fmt.Errorf("keyword %s", k)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
	}
	return p, nil
}

func count(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < 0 {
		return 0, fmt.Errorf("%v is not a count", v)
	}
	return i, nil
}

func int64Of(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%v is not a number", v)
	}
	return strconv.ParseInt(string(n), 10, 64)
}

// scalarOf converts an enum or const value; only strings and int64
// integers written without fraction or exponent are understood.
func scalarOf(v any) (scalar, error) {
	switch v := v.(type) {
	case string:
		return scalar{isStr: true, s: v}, nil
	case json.Number:
		i, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return scalar{}, err
		}
		return scalar{i: i}, nil
	}
	return scalar{}, fmt.Errorf("value %v", v)
}

// check reports whether the value v passes p. It is only ever more strict
// than the validator.
func (p *propRule) check(v scalar) bool {
	if v.isStr {
		if p.typ != anyType && p.typ != stringType {
			return false
		}
		if p.minLen >= 0 || p.maxLen >= 0 {
			n := utf8.RuneCountInString(v.s)
			if n < p.minLen || (p.maxLen >= 0 && n > p.maxLen) {
				return false
			}
		}
		if p.dateTime && !isDateTime(v.s) {
			return false
		}
		if p.pattern != nil && !p.pattern.MatchString(v.s) {
			return false
		}
	} else {
		if p.typ == stringType {
			return false
		}
		if v.big {
			if p.hasMax {
				return false
			}
		} else if (p.hasMin && v.i < p.min) || (p.hasMax && v.i > p.max) {
			return false
		}
	}
	if p.enum != nil {
		found := false
		for _, e := range p.enum {
			found = found || e.equal(v)
		}
		if !found {
			return false
		}
	}
	if p.hasConst && !p.constVal.equal(v) {
		return false
	}
	for _, c := range p.notConst {
		if c.equal(v) {
			return false
		}
	}
	return true
}

// checkFields checks the values of a struct's fields, aligned with rules;
// a value not present is one omitempty leaves out.
func (r *fastRules) checkFields(rules []*propRule, vals []scalar, present []bool) bool {
	for i, p := range rules[:len(vals)] {
		if !present[i] {
			if p != nil && p.required {
				return false
			}
			continue
		}
		if p == nil {
			if r.closed {
				return false
			}
			continue
		}
		if !p.check(vals[i]) {
			return false
		}
	}
	return true
}

// movementOK reports whether m, as Movement.doc renders it, passes t's
// schema and the rules validateDoc adds.
func (r *fastRules) movementOK(t Type, m *Movement) bool {
	if r.movementOff {
		return false
	}
	var buf [48]byte
	at := m.OccurredAt.AppendFormat(buf[:0], time.RFC3339Nano)
	vals := [len(movementFields)]scalar{
		str1(m.Connector), str1(m.SourceEventID), str1(string(at)), str1(m.SKU), str1(m.Location),
		str1(m.ToLocation), {i: m.Quantity}, str1(m.State), str1(m.Reason), str1(m.OrderID),
		str1(m.CorrelationID),
	}
	present := [len(movementFields)]bool{
		true, true, true, true, true, m.ToLocation != "", true, m.State != "", true, m.OrderID != "", true,
	}
	if !r.checkFields(r.movement[:], vals[:], present[:]) {
		return false
	}
	return t != StockTransferred || m.Location != m.ToLocation
}

// availabilityOK is movementOK for Availability.
func (r *fastRules) availabilityOK(a *Availability) bool {
	if r.availabilityOff {
		return false
	}
	var b1, b2 [48]byte
	occurred := a.OccurredAt.AppendFormat(b1[:0], time.RFC3339Nano)
	recorded := a.RecordedAt.AppendFormat(b2[:0], time.RFC3339Nano)
	seq := scalar{i: int64(a.Seq)}
	if a.Seq > 1<<63-1 {
		seq = scalar{big: true, u: a.Seq}
	}
	vals := [len(availabilityFields)]scalar{
		str1(a.SKU), str1(a.Location), {i: a.OnHand}, {i: a.Committed}, {i: a.SafetyStock},
		{i: a.Available}, seq, str1(a.CauseEventID), str1(a.CauseType), str1(string(occurred)),
		str1(string(recorded)), str1(a.CorrelationID),
	}
	present := [len(availabilityFields)]bool{true, true, true, true, true, true, true, true, true, true, true, true}
	return r.checkFields(r.availability[:], vals[:], present[:])
}

func str1(s string) scalar { return scalar{isStr: true, s: s} }

// docOK reports whether a document decoded by decodeDoc passes t's schema
// and the rules validateDoc adds. Anything but strings and integers that
// fit an int64 or uint64 is left to the validator.
func (r *fastRules) docOK(t Type, doc any) bool {
	obj, ok := doc.(map[string]any)
	if !ok {
		return false
	}
	for k, v := range obj {
		p := r.props[k]
		if p == nil {
			if r.closed {
				return false
			}
			continue
		}
		var s scalar
		switch v := v.(type) {
		case string:
			s = str1(v)
		case json.Number:
			if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				s.i = i
			} else if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
				s = scalar{big: true, u: u}
			} else {
				return false
			}
		default:
			return false
		}
		if !p.check(s) {
			return false
		}
	}
	for _, name := range r.required {
		if _, ok := obj[name]; !ok {
			return false
		}
	}
	if t == StockTransferred {
		l, ok1 := obj["location"].(string)
		to, ok2 := obj["toLocation"].(string)
		if !ok1 || !ok2 || l == to {
			return false
		}
	}
	return true
}

// isDateTime reports whether s is an RFC 3339 date-time the validator's
// "date-time" format accepts. It accepts less: only ASCII digits where
// the validator's strconv.Atoi would also take a sign, and no leap second.
func isDateTime(s string) bool {
	// yyyy-mm-ddThh:mm:ss
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	h, ok4 := digits(s[11:13])
	m, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		h > 23 || m > 59 || sec > 59 {
		return false
	}
	rest := s[19:]
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 {
			return false
		}
		rest = rest[n:]
	}
	if rest == "Z" || rest == "z" {
		return true
	}
	if len(rest) != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' {
		return false
	}
	zh, ok1 := digits(rest[1:3])
	zm, ok2 := digits(rest[4:6])
	return ok1 && ok2 && zh <= 23 && zm <= 59
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// flatObject is a JSON object read by scanFlat: the raw value of each of
// a struct's fields, and whether it was present and a string.
type flatObject struct {
	raw            [12]string
	present, isStr [12]bool
}

// scanFlat reads data as a JSON object whose keys are all among fields and
// whose values are strings without escapes or integers without fraction
// or exponent. Anything else (an unknown or repeated key, an escape,
// invalid UTF-8, a null, 1.0, malformed JSON) returns false, for the
// caller to take the validator's path; so where scanFlat succeeds it reads
// what jsonschema.UnmarshalJSON and a strict json.Decoder read.
func scanFlat(data []byte, fields []string, o *flatObject) bool {
	s := string(data) // one copy; the values are substrings of it
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return false
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return skipWS(s, i+1) == len(s)
	}
	for {
		key, j, ok := scanString(s, i)
		if !ok {
			return false
		}
		f := -1
		for k, name := range fields {
			if name == key {
				f = k
				break
			}
		}
		if f < 0 || o.present[f] {
			return false
		}
		i = skipWS(s, j)
		if i >= len(s) || s[i] != ':' {
			return false
		}
		i = skipWS(s, i+1)
		if i >= len(s) {
			return false
		}
		if s[i] == '"' {
			o.raw[f], i, ok = scanString(s, i)
			o.isStr[f] = true
		} else {
			o.raw[f], i, ok = scanInt(s, i)
		}
		if !ok {
			return false
		}
		o.present[f] = true
		i = skipWS(s, i)
		if i >= len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			return skipWS(s, i+1) == len(s)
		default:
			return false
		}
	}
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// scanString reads a string starting at the quote s[i] that has no escape,
// no control character and only valid UTF-8, and returns it and the index
// after its closing quote.
func scanString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			v := s[i+1 : j]
			return v, j + 1, utf8.ValidString(v)
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// scanInt reads -?(0|[1-9][0-9]*) not followed by a fraction or exponent.
func scanInt(s string, i int) (string, int, bool) {
	j := i
	if j < len(s) && s[j] == '-' {
		j++
	}
	start := j
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == start || (s[start] == '0' && j > start+1) {
		return "", 0, false
	}
	if j < len(s) && (s[j] == '.' || s[j] == 'e' || s[j] == 'E') {
		return "", 0, false
	}
	return s[i:j], j, true
}

// parseMovement is the fast path of Parse for a movement type: it returns
// the data decoded, and true, only when the data is valid and decodes
// without error; otherwise Parse takes the validator's path.
func (r *fastRules) parseMovement(t Type, data []byte) (*Movement, bool) {
	if r.movementOff {
		return nil, false
	}
	var o flatObject
	if !scanFlat(data, movementFields[:], &o) {
		return nil, false
	}
	var vals [len(movementFields)]scalar
	for f := range movementFields {
		if !o.present[f] {
			continue
		}
		const quantity = 6
		if o.isStr[f] != (f != quantity) {
			return nil, false
		}
		vals[f] = str1(o.raw[f])
	}
	var m Movement
	var err error
	if o.present[6] {
		if m.Quantity, err = strconv.ParseInt(o.raw[6], 10, 64); err != nil {
			return nil, false
		}
		vals[6] = scalar{i: m.Quantity}
	}
	if !r.checkFields(r.movement[:], vals[:len(movementFields)], o.present[:len(movementFields)]) {
		return nil, false
	}
	m.Connector, m.SourceEventID, m.SKU, m.Location = o.raw[0], o.raw[1], o.raw[3], o.raw[4]
	m.ToLocation, m.State, m.Reason, m.OrderID, m.CorrelationID = o.raw[5], o.raw[7], o.raw[8], o.raw[9], o.raw[10]
	if t == StockTransferred && (!o.present[4] || !o.present[5] || m.Location == m.ToLocation) {
		return nil, false
	}
	if o.present[2] && m.OccurredAt.UnmarshalText([]byte(o.raw[2])) != nil {
		return nil, false
	}
	return &m, true
}

// parseAvailability is parseMovement for AvailabilityChanged.
func (r *fastRules) parseAvailability(data []byte) (*Availability, bool) {
	if r.availabilityOff {
		return nil, false
	}
	var o flatObject
	if !scanFlat(data, availabilityFields[:], &o) {
		return nil, false
	}
	var (
		a    Availability
		vals [len(availabilityFields)]scalar
		err  error
	)
	ints := [...]*int64{2: &a.OnHand, 3: &a.Committed, 4: &a.SafetyStock, 5: &a.Available, 6: nil}
	for f := range availabilityFields {
		if !o.present[f] {
			continue
		}
		isInt := f >= 2 && f <= 6
		if o.isStr[f] == isInt {
			return nil, false
		}
		switch {
		case !isInt:
			vals[f] = str1(o.raw[f])
		case f == 6:
			if a.Seq, err = strconv.ParseUint(o.raw[f], 10, 64); err != nil {
				return nil, false
			}
			vals[f] = scalar{i: int64(a.Seq)}
			if a.Seq > 1<<63-1 {
				vals[f] = scalar{big: true, u: a.Seq}
			}
		default:
			if *ints[f], err = strconv.ParseInt(o.raw[f], 10, 64); err != nil {
				return nil, false
			}
			vals[f] = scalar{i: *ints[f]}
		}
	}
	if !r.checkFields(r.availability[:], vals[:], o.present[:]) {
		return nil, false
	}
	a.SKU, a.Location, a.CauseEventID, a.CauseType, a.CorrelationID = o.raw[0], o.raw[1], o.raw[7], o.raw[8], o.raw[11]
	if o.present[9] && a.OccurredAt.UnmarshalText([]byte(o.raw[9])) != nil {
		return nil, false
	}
	if o.present[10] && a.RecordedAt.UnmarshalText([]byte(o.raw[10])) != nil {
		return nil, false
	}
	return &a, true
}
