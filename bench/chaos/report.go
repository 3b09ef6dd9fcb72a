package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// WriteText prints r as tables: the faults by kind, the operations by
// result, the violations (each with what was found) and the samples.
func WriteText(w io.Writer, r *Report) {
	fmt.Fprintf(w, "chaos: seed %d, %d runs in %s, %d xenactord incarnations, faults %s\n", r.Seed, r.Runs,
		r.Elapsed.Round(time.Second), r.Incarnations, strings.Join(r.Faults, ","))
	fmt.Fprintf(w, "\n%-16s %9s %6s\n", "fault", "injected", "hit")
	for _, k := range AllFaults {
		if !slices.Contains(r.Faults, k) {
			continue
		}
		hit := "-"
		if slices.Contains(childFaults, k) {
			hit = fmt.Sprint(r.Hit[k])
		}
		note := ""
		if slices.Contains(r.Unavailable, k) {
			note = "  (not available in this daemon)"
		}
		fmt.Fprintf(w, "%-16s %9d %6s%s\n", k, r.Injected[k], hit, note)
	}
	ops := make(map[string]map[string]int)
	var results []string
	for k, n := range r.Ops {
		op, res, _ := strings.Cut(k, ": ")
		if ops[op] == nil {
			ops[op] = make(map[string]int)
		}
		ops[op][res] += n
		if !slices.Contains(results, res) {
			results = append(results, res)
		}
	}
	slices.Sort(results)
	if i := slices.Index(results, ResultOK); i > 0 {
		results = append([]string{ResultOK}, slices.Delete(results, i, i+1)...)
	}
	fmt.Fprintf(w, "\n%-14s", "operation")
	for _, res := range results {
		fmt.Fprintf(w, " %9s", truncate(res, 9))
	}
	fmt.Fprintln(w)
	for _, op := range slices.Sorted(maps.Keys(ops)) {
		fmt.Fprintf(w, "%-14s", op)
		for _, res := range results {
			fmt.Fprintf(w, " %9d", ops[op][res])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\ninvariant violations: %d\n", len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  %s\n", v)
	}
	fmt.Fprintf(w, "\n%4s %11s %10s %5s\n", "run", "incarnation", "goroutines", "fds")
	for _, s := range r.Samples {
		fmt.Fprintf(w, "%4d %11d %10d %5d\n", s.Run, s.Incarnation, s.Goroutines, s.FDs)
	}
}

// WriteJSON prints r as indented JSON (durations in ns).
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
