package cpuprof

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestStart checks that Start writes a profile (pprof's format is
// gzip-compressed protobuf) and fails for a path it cannot create.
func TestStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	stop, err := Start(path)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("profile starts %x, want gzip's magic 1f8b", b[:min(len(b), 4)])
	}
	if _, err := Start(filepath.Join(t.TempDir(), "no", "such", "dir", "cpu.pprof")); err == nil {
		t.Error("Start succeeded for a path in a missing directory")
	}
}
