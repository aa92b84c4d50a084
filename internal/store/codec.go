package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// On-disk layout, format version 1 (formatVersion).
//
// Four bbolt buckets:
//
//	meta       "version" → uvarint format version
//	bans       recordKey → uvarint offences | time At | time Until
//	offenders  recordKey → uvarint offences | time Last
//	positions  source name (UTF-8 bytes) → position (opaque bytes, stored as given)
//
// recordKey = jail | 0x00 | host key. Jail names hold no NUL (Update
// refuses them), so the split is unambiguous, the records of one jail are
// contiguous (Offenders(jail) is a prefix scan), bbolt's byte order is the
// (jail, key) order, and a dump with the bbolt CLI stays readable.
//
// time = varint Unix seconds | uvarint nanoseconds (< 1e9). Unlike UnixNano
// this covers every time.Time, including the zero time. Times decode in UTC.
//
// Binary rather than JSON because start-up decodes every active ban: a
// value is ~15 bytes decoded without reflection or allocation. A change to
// any of this must bump formatVersion and migrate in Open (Store.prepare).
const formatVersion = 1

// maxRecordKey bounds jail plus host key. Real keys are an address, a prefix
// or a peer ID (~52 bytes); the bound keeps a bad caller far from bbolt's
// own key limit and a decoder from trusting a huge length.
const maxRecordKey = 1024

// maxSourceKey bounds a source name (a path or "journal:<matches>").
const maxSourceKey = 4096

var (
	// ErrInvalidRecord reports a record that cannot be stored: an empty or
	// oversized jail, host key or source name, a NUL in a jail name, or an
	// offence count outside 0..MaxInt32.
	ErrInvalidRecord = errors.New("invalid record")

	errDecode = errors.New("undecodable record")
)

func encodeRecordKey(dst []byte, jail, key string) ([]byte, error) {
	if jail == "" || key == "" || strings.IndexByte(jail, 0) >= 0 {
		return nil, fmt.Errorf("jail %q, key %q: %w: jail and key must not be empty, jail must not hold NUL", jail, key, ErrInvalidRecord)
	}
	if len(jail)+len(key) > maxRecordKey {
		return nil, fmt.Errorf("jail %.32q, key %.32q: %w: longer than %d bytes", jail, key, ErrInvalidRecord, maxRecordKey)
	}
	dst = append(dst, jail...)
	dst = append(dst, 0)
	return append(dst, key...), nil
}

// jailPrefix is the key prefix shared by every record of jail.
func jailPrefix(jail string) []byte {
	return append([]byte(jail), 0)
}

// decodeRecordKey returns the jail and host key as sub-slices of b, so the
// caller decides what to copy.
func decodeRecordKey(b []byte) (jail, key []byte, err error) {
	i := bytes.IndexByte(b, 0)
	if i <= 0 || i == len(b)-1 || len(b)-1 > maxRecordKey {
		return nil, nil, fmt.Errorf("key %x: %w", b, errDecode)
	}
	return b[:i], b[i+1:], nil
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(dst, t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// readTime decodes a time from the front of b and returns the rest.
func readTime(b []byte) (time.Time, []byte, error) {
	sec, w := binary.Varint(b)
	if w <= 0 {
		return time.Time{}, nil, errDecode
	}
	b = b[w:]
	nsec, w := binary.Uvarint(b)
	if w <= 0 || nsec >= uint64(time.Second) {
		return time.Time{}, nil, errDecode
	}
	return time.Unix(sec, int64(nsec)).UTC(), b[w:], nil
}

func readCount(b []byte) (int, []byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > math.MaxInt32 {
		return 0, nil, errDecode
	}
	return int(n), b[w:], nil
}

func checkCount(n int) error {
	if n < 0 || n > math.MaxInt32 {
		return fmt.Errorf("offences %d: %w", n, ErrInvalidRecord)
	}
	return nil
}

func encodeBanValue(dst []byte, b Ban) ([]byte, error) {
	if err := checkCount(b.Offences); err != nil {
		return nil, err
	}
	dst = binary.AppendUvarint(dst, uint64(b.Offences))
	dst = appendTime(dst, b.At)
	dst = appendTime(dst, b.Until)
	if b.Source == "" {
		return dst, nil
	}
	// Only a fleet ban carries its origin, after the fields every ban has,
	// so that local bans keep the record they always had.
	return encodeAddrs(dst, append([]string{b.Source}, b.Reporters...)), nil
}

// decodeBanValue fills the value fields of b; the key fields are the caller's.
func decodeBanValue(v []byte, b *Ban) error {
	var err error
	if b.Offences, v, err = readCount(v); err != nil {
		return err
	}
	if b.At, v, err = readTime(v); err != nil {
		return err
	}
	if b.Until, v, err = readTime(v); err != nil {
		return err
	}
	if len(v) == 0 {
		return nil
	}
	origin, err := decodeAddrs(v)
	if err != nil || len(origin) == 0 || origin[0] == "" {
		return errDecode
	}
	b.Source, b.Reporters = origin[0], origin[1:]
	return nil
}

func encodeOffenderValue(dst []byte, o Offender) ([]byte, error) {
	if err := checkCount(o.Offences); err != nil {
		return nil, err
	}
	dst = binary.AppendUvarint(dst, uint64(o.Offences))
	return appendTime(dst, o.Last), nil
}

func decodeOffenderValue(v []byte, o *Offender) error {
	var err error
	if o.Offences, v, err = readCount(v); err != nil {
		return err
	}
	if o.Last, v, err = readTime(v); err != nil {
		return err
	}
	if len(v) != 0 {
		return errDecode
	}
	return nil
}
