package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// gauge reads the gateway's resource use: from /proc/PID when pid is set,
// from its net/http/pprof debug server when debug is set.
type gauge struct {
	pid    int
	debug  string // base URL of --debug-addr
	client *http.Client
}

// memory is the gateway's memory at one moment. A field is -1 when it
// could not be read.
type memory struct {
	RSS        int64 // VmRSS, bytes
	HeapInuse  int64 // runtime.MemStats.HeapInuse after a collection
	HeapAlloc  int64 // runtime.MemStats.HeapAlloc after a collection
	StackInuse int64 // runtime.MemStats.StackInuse
	Goroutines int64
}

// memory reads the gateway's memory: the heap first, through
// /debug/pprof/heap?gc=1, which runs a collection so that the heap is what
// is live, then the RSS.
func (g *gauge) memory(ctx context.Context) (memory, error) {
	m := memory{RSS: -1, HeapInuse: -1, HeapAlloc: -1, StackInuse: -1, Goroutines: -1}
	if g.debug != "" {
		b, err := g.fetch(ctx, "/debug/pprof/heap?gc=1&debug=1")
		if err != nil {
			return m, err
		}
		st := memStats(b)
		m.HeapInuse, m.HeapAlloc = st["HeapInuse"], st["HeapAlloc"]
		if v, ok := st["Stack"]; ok {
			m.StackInuse = v
		}
		if b, err = g.fetch(ctx, "/debug/pprof/goroutine?debug=1"); err != nil {
			return m, err
		}
		m.Goroutines = goroutineTotal(b)
	}
	if g.pid > 0 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.pid))
		if err != nil {
			return m, fmt.Errorf("-pid %d: %w", g.pid, err)
		}
		m.RSS = vmRSS(b)
	}
	return m, nil
}

func (g *gauge) fetch(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.debug+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("-debug: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("-debug: GET %s: %s", path, resp.Status)
	}
	return b, err
}

// save writes what the debug server serves at path to file.
func (g *gauge) save(ctx context.Context, path, file string) error {
	b, err := g.fetch(ctx, path)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}

// profile writes a CPU profile of the next d to path.
func (g *gauge) profile(ctx context.Context, d time.Duration, path string) error {
	secs := max(int((d+time.Second-1)/time.Second), 1)
	ctx, cancel := context.WithTimeout(ctx, d+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.debug+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), nil)
	if err != nil {
		return err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/profile: %s", resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// memStats reads the "# Name = value" lines (runtime.MemStats) that the
// heap profile's debug=1 text ends with; "# Stack = inuse / sys" gives
// StackInuse as Stack.
func memStats(b []byte) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "# ")
		if !ok {
			continue
		}
		name, val, ok := strings.Cut(line, " = ")
		if !ok || strings.Contains(name, " ") {
			continue
		}
		val, _, _ = strings.Cut(val, " ")
		if v, err := strconv.ParseInt(val, 10, 64); err == nil {
			out[name] = v
		}
	}
	return out
}

// goroutineTotal reads "goroutine profile: total N"; -1 if absent.
func goroutineTotal(b []byte) int64 {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	v, ok := bytes.CutPrefix(line, []byte("goroutine profile: total "))
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// vmRSS reads VmRSS (kB) from /proc/PID/status as bytes; -1 if absent.
func vmRSS(status []byte) int64 {
	for line := range bytes.Lines(status) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v)
			if len(f) >= 1 {
				if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
					return n << 10
				}
			}
		}
	}
	return -1
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's CPU times: 100 on
// every Linux architecture Go supports (sysconf(_SC_CLK_TCK) needs cgo).
const clockTicks = 100

// cpu returns the CPU time the gateway has used (user + system), from
// /proc/PID/stat; 0 without -pid.
func (g *gauge) cpu() (time.Duration, error) {
	if g.pid <= 0 {
		return 0, nil
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.pid))
	if err != nil {
		return 0, fmt.Errorf("-pid %d: %w", g.pid, err)
	}
	return statCPU(b)
}

// statCPU reads utime + stime from a /proc/PID/stat line. The command
// name (field 2) may hold spaces and parentheses, so fields are counted
// from the last ')': utime and stime are fields 14 and 15.
func statCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc stat %q", b)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("unreadable /proc stat %q", b)
	}
	var ticks int64
	for _, s := range f[11:13] { // field 3 is f[0]
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unreadable /proc stat %q", b)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// machineCPU returns the CPU time every process on the machine has used
// (all CPUs, idle and iowait excluded), from /proc/stat: with cpu and
// ownCPU, it shows what other work took from the run.
func machineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return procStatBusy(b)
}

// procStatBusy reads the busy time of the first line of /proc/stat:
// "cpu  user nice system idle iowait irq softirq steal guest guest_nice",
// in USER_HZ ticks; guest time is already counted in user.
func procStatBusy(b []byte) (time.Duration, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, fmt.Errorf("unreadable /proc/stat %q", line)
	}
	var busy int64
	for i, v := range f[1:9] {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unreadable /proc/stat %q", line)
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTicks, nil
}

// loadAverage returns the first field of /proc/loadavg, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return "?"
	}
	return string(f[0])
}

// ownCPU returns the CPU time this process has used.
func ownCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fdLimit returns the gateway's soft open-file limit from
// /proc/PID/limits; -1 for unlimited or unreadable.
func (g *gauge) fdLimit() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", g.pid))
	if err != nil {
		return -1, fmt.Errorf("-pid %d: %w", g.pid, err)
	}
	return softNoFile(b), nil
}

// softNoFile reads the soft "Max open files" limit of a /proc/PID/limits
// text; -1 for unlimited or absent.
func softNoFile(limits []byte) int64 {
	for line := range bytes.Lines(limits) {
		if v, ok := bytes.CutPrefix(line, []byte("Max open files")); ok {
			f := bytes.Fields(v)
			if len(f) >= 1 {
				if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// raiseFDLimit raises this process's soft open-file limit to at least
// need, and the hard limit too when it is lower and the process may
// (root). It returns the soft limit now in force.
func raiseFDLimit(need uint64) (uint64, error) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur >= need {
		return l.Cur, nil
	}
	want := l
	want.Cur = need
	if want.Max < need {
		want.Max = need // only root may; fall back to the hard limit below
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		want = syscall.Rlimit{Cur: l.Max, Max: l.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return l.Cur, err
		}
	}
	return want.Cur, nil
}

// cpuWindow is the CPU time used over a span of wall time: by the gateway
// (with -pid), by this command, and by the whole machine.
type cpuWindow struct {
	start              time.Time
	gw0, own0, all0    time.Duration
	load0, load1       string
	Wall               time.Duration
	Gateway, Own, Busy time.Duration
	pid                bool
}

// startCPU begins a window.
func (g *gauge) startCPU() (*cpuWindow, error) {
	w := &cpuWindow{start: time.Now(), load0: loadAverage(), pid: g.pid > 0}
	var err error
	if w.gw0, err = g.cpu(); err != nil {
		return nil, err
	}
	w.own0 = ownCPU()
	w.all0, _ = machineCPU()
	return w, nil
}

// stop ends the window.
func (w *cpuWindow) stop(g *gauge) error {
	gw, err := g.cpu()
	if err != nil {
		return err
	}
	all, _ := machineCPU()
	w.Wall = time.Since(w.start)
	w.Gateway, w.Own, w.Busy = gw-w.gw0, ownCPU()-w.own0, all-w.all0
	w.load1 = loadAverage()
	return nil
}

// cores returns d of CPU time as cores over the window.
func (w *cpuWindow) cores(d time.Duration) float64 { return d.Seconds() / w.Wall.Seconds() }

// String is "gateway 1.04 cores, this command 0.29, everything else 0.60
// (the machine busy 1.93 cores); load average 2.32 → 4.24".
func (w *cpuWindow) String() string {
	var b strings.Builder
	if w.pid {
		fmt.Fprintf(&b, "gateway %.2f cores, ", w.cores(w.Gateway))
	}
	fmt.Fprintf(&b, "this command %.2f", w.cores(w.Own))
	if w.Busy > 0 {
		other := w.Busy - w.Own
		if w.pid {
			other -= w.Gateway
		}
		fmt.Fprintf(&b, ", everything else %.2f (machine busy %.2f cores)", max(w.cores(other), 0), w.cores(w.Busy))
	}
	fmt.Fprintf(&b, "; load average %s → %s", w.load0, w.load1)
	return b.String()
}
