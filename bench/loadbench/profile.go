package loadbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profileDuring writes CPU profiles of the started daemon and simulated
// host into Config.Profile while a step runs: ProfileLength each, back to
// back, as <process>-<name>-<n>.pprof, until the returned stop, which waits
// for the profiles in progress. Without Config.Profile it does nothing.
// A profile that cannot be taken is said on the progress line.
func (r *run) profileDuring(name string) (stop func()) {
	if r.c.Profile == "" {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for proc, addr := range map[string]string{"xenactord": r.t.pprof, "xenactor-simhost": r.t.simPprof} {
		if addr == "" {
			continue
		}
		wg.Go(func() {
			for n := 1; ; n++ {
				path := filepath.Join(r.c.Profile, fmt.Sprintf("%s-%s-%d.pprof", proc, name, n))
				if err := fetchProfile(addr, time.Duration(r.c.ProfileLength), path); err != nil {
					r.logf("profile of %s: %v", proc, err)
					return
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// fetchProfile writes a CPU profile of d from the pprof server at addr to
// path.
func fetchProfile(addr string, d time.Duration, path string) error {
	ctx, cancel := context.WithTimeout(context.Background(), d+time.Minute)
	defer cancel()
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(int(d/time.Second), 1))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
