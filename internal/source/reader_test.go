package source

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readAll(t *testing.T, r io.Reader) (lines []string, oversized int) {
	t.Helper()
	rd := NewReader(r)
	for {
		b, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return lines, oversized
		}
		if errors.Is(err, ErrOversized) {
			oversized++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
}

func TestReaderEndings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a", []string{"a"}},
		{"a\n", []string{"a"}},
		{"a\r\nb\n", []string{"a", "b"}},
		{"a\n\nb", []string{"a", "", "b"}},
		{"\x00\xff\xfe\n", []string{"\x00\xff\xfe"}},
	}
	for _, tt := range tests {
		got, _ := readAll(t, strings.NewReader(tt.in))
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A line far longer than the buffer is one line, not several.
func TestReaderLongLine(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	got, _ := readAll(t, strings.NewReader("a\n"+long+"\nb\n"+long))
	if len(got) != 4 || got[0] != "a" || got[1] != long || got[2] != "b" || got[3] != long {
		t.Fatalf("got %d lines", len(got))
	}
}

func TestReaderOversized(t *testing.T) {
	big := bytes.Repeat([]byte("y"), MaxLine+10)
	in := append(append([]byte("a\n"), big...), []byte("\nb\n")...)
	got, over := readAll(t, bytes.NewReader(in))
	if over != 1 || len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("got %q lines and %d oversized, want [a b] and 1", got, over)
	}
}

func TestOpenFileGzip(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("one\ntwo\n"))
	zw.Close()
	// The name does not say gzip: the magic bytes do.
	path := filepath.Join(dir, "auth.log.1")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, _, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, _ := readAll(t, rc)
	if strings.Join(got, ",") != "one,two" {
		t.Fatalf("got %q", got)
	}
	if _, _, err := OpenFile(dir); err == nil {
		t.Fatal("opening a directory succeeded")
	}
}
