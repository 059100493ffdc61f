package main

import (
	"bytes"
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"
)

// TestMemStatsFromHeapProfile reads the runtime's own debug=1 heap
// profile, the text the gateway's /debug/pprof/heap?debug=1 serves.
func TestMemStatsFromHeapProfile(t *testing.T) {
	var buf bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	st := memStats(buf.Bytes())
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, name := range []string{"HeapInuse", "HeapAlloc", "Stack", "Sys"} {
		if st[name] <= 0 || uint64(st[name]) > ms.Sys {
			t.Errorf("%s = %d (Sys %d)", name, st[name], ms.Sys)
		}
	}
	buf.Reset()
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	if n := goroutineTotal(buf.Bytes()); n < 1 || n > int64(runtime.NumGoroutine())+10 {
		t.Errorf("goroutines = %d, runtime says %d", n, runtime.NumGoroutine())
	}
	if goroutineTotal([]byte("something else\n")) != -1 {
		t.Error("goroutineTotal of another text is not -1")
	}
}

func TestProcFiles(t *testing.T) {
	t.Parallel()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc:", err)
	}
	if rss := vmRSS(status); rss < 1<<20 {
		t.Errorf("VmRSS = %d bytes", rss)
	}
	if vmRSS([]byte("Name:\tx\n")) != -1 {
		t.Error("vmRSS without the line is not -1")
	}
	g := &gauge{pid: os.Getpid()}
	if _, err := g.cpu(); err != nil {
		t.Error(err)
	}
	if n, err := g.fdLimit(); err != nil || n < 1 {
		t.Errorf("fdLimit = %d, %v", n, err)
	}

	// A command name with spaces and parentheses does not shift fields.
	stat := []byte("4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0 1234 0 0\n")
	if d, err := statCPU(stat); err != nil || d != 3*time.Second {
		t.Errorf("statCPU = %v, %v, want 3s (300 ticks)", d, err)
	}
	if _, err := statCPU([]byte("garbage")); err == nil {
		t.Error("statCPU of garbage succeeded")
	}
	limits := []byte("Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 524288               files\n")
	if n := softNoFile(limits); n != 1024 {
		t.Errorf("softNoFile = %d, want 1024", n)
	}
	if n := softNoFile([]byte("Max open files            unlimited            unlimited            files\n")); n != -1 {
		t.Errorf("unlimited = %d, want -1", n)
	}
	// user nice system idle iowait irq softirq steal: 100+2+30+10+1+4 busy ticks.
	if d, err := procStatBusy([]byte("cpu  100 2 30 5000 700 10 1 4 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n")); err != nil || d != 1470*time.Millisecond {
		t.Errorf("procStatBusy = %v, %v, want 1.47s", d, err)
	}
	if _, err := machineCPU(); err != nil {
		t.Error(err)
	}
}

func TestIdleMemory(t *testing.T) {
	t.Parallel()
	before := memory{RSS: 40 << 20, HeapInuse: 4 << 20, HeapAlloc: 3 << 20, StackInuse: 1 << 20, Goroutines: 80}
	after := memory{RSS: 140 << 20, HeapInuse: 54 << 20, HeapAlloc: 43 << 20, StackInuse: 81 << 20, Goroutines: 40080}
	m := idleMemory(before, after, 10_000)
	if m.RSS != float64(100<<20)/10_000 || m.Heap != float64(50<<20)/10_000 || m.Stack != float64(80<<20)/10_000 || m.Goroutines != 4 {
		t.Errorf("idle = %+v", m)
	}
	if m := idleMemory(memory{RSS: -1}, memory{RSS: 5}, 10); m.RSS != -1 {
		t.Errorf("unmeasured RSS = %v, want -1", m.RSS)
	}
}
