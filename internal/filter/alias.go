package filter

import "unsafe"

// alias returns b as a string without copying it: the string is valid as
// long as b's bytes are not changed (see Hit.ID).
func alias(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
