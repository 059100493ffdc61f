package boltstore

import (
	"encoding/binary"
	"encoding/json"
	"errors"

	"github.com/stockgate/stockgate/store"
)

// Outbox values are written in a compact binary form: every message is
// written once and read back by the relay, so JSON with the body in base64
// cost a marshal, an unmarshal and two base64 passes per hop. Files written
// before hold JSON values, which start with '{'; the binary form starts
// with outboxV1, so both are read.
//
//	outboxV1, then uvarint-length-prefixed topic, event id, key, body and
//	created-at (time.Time.AppendBinary, which keeps the zone offset)
const outboxV1 = 0x01

var errCorruptMessage = errors.New("corrupt outbox message")

// appendMessage appends the binary form of m (without Seq, the key's).
func appendMessage(b []byte, m *store.Message) ([]byte, error) {
	b = append(b, outboxV1)
	b = appendString(b, m.Topic)
	b = appendString(b, m.EventID)
	b = appendString(b, m.Key)
	b = binary.AppendUvarint(b, uint64(len(m.Body)))
	b = append(b, m.Body...)
	var scratch [16]byte // the binary form of a time is 15 or 16 bytes
	at, err := m.CreatedAt.AppendBinary(scratch[:0])
	if err != nil {
		return nil, err
	}
	b = binary.AppendUvarint(b, uint64(len(at)))
	return append(b, at...), nil
}

// decodeMessage decodes an outbox value stored under seq, in either form.
// The result does not alias v, which bbolt reuses after the transaction.
func decodeMessage(seq uint64, v []byte) (store.Message, error) {
	var m store.Message
	if len(v) == 0 || v[0] != outboxV1 {
		err := json.Unmarshal(v, &m)
		m.Seq = seq
		return m, err
	}
	v = v[1:]
	var fields [5][]byte
	for i := range fields {
		n, w := binary.Uvarint(v)
		if w <= 0 || n > uint64(len(v)-w) {
			return m, errCorruptMessage
		}
		fields[i], v = v[w:w+int(n)], v[w+int(n):]
	}
	if len(v) != 0 {
		return m, errCorruptMessage
	}
	m.Seq = seq
	m.Topic, m.EventID, m.Key = string(fields[0]), string(fields[1]), string(fields[2])
	if len(fields[3]) > 0 {
		m.Body = append([]byte(nil), fields[3]...)
	}
	if err := m.CreatedAt.UnmarshalBinary(fields[4]); err != nil {
		return m, errCorruptMessage
	}
	return m, nil
}
