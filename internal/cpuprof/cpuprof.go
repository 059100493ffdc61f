// Package cpuprof lets the load commands profile their own CPU, to check
// how much of the machine a measurement took from the gateway it measures.
package cpuprof

import (
	"os"
	"runtime/pprof"
)

// Start profiles this process's CPU into the file at path until stop is
// called.
func Start(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
