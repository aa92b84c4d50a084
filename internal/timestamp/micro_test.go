package timestamp
import ("testing";"time")
var sinkI int64
func BenchmarkMicroISO(b *testing.B) { v := []byte("2024-07-27T00:00:00.000548005Z"); var s stamp; for b.Loop() { parseISOAt(v, 0, &s); sinkI += int64(s.nsec) } }
func BenchmarkMicroUnix(b *testing.B) { x := int64(1722038400); for b.Loop() { x++; sinkI += time.Unix(x, 5).UTC().UnixNano() } }
func BenchmarkMicroDays(b *testing.B) { d := 1; for b.Loop() { d = d%28+1; sinkI += daysFromCivil(2024, 7, d) } }
func BenchmarkMicroEmpty(b *testing.B) { for b.Loop() { sinkI++ } }
