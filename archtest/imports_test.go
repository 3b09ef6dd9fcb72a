package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/xenactor/xenactor"

// layerRule constrains the direct imports of the packages in one layer.
// Layers are module-relative directory prefixes ("hostio" is hostio and
// everything under it).
type layerRule struct {
	from string   // the importing layer; "" is every package of the module
	deny []string // layers it must not import
	only []string // when set, the only project layers it may import
	// except are layers under from that the rule does not govern (they
	// have a rule of their own).
	except []string
	// allow are layers under deny that from may import all the same.
	allow []string
}

// rules are the one-way layers of DESIGN.md: imports point down only.
var rules = []layerRule{
	{from: "hostio", deny: []string{"actors", "supervisors", "client", "cmd", "bench"}},
	{from: "internal", only: []string{"internal"}, except: []string{"internal/apiwire"}},
	// The API's transport carries the API's messages, and nothing else.
	{from: "internal/apiwire", only: []string{"internal", "messages"}},
	{from: "actors", deny: []string{"cmd", "bench", "client"}},
	{from: "messages", deny: []string{"actors", "hostio", "cmd", "bench"}},
	{from: "bench", deny: []string{"actors", "supervisors"}},
	// Only a command's own subpackages (cmd/<name>/...) may import cmd/.
	{from: "", deny: []string{"cmd"}, except: []string{"cmd/xenactor-bench"}},
	// The API benchmark's in-process baseline is xenactord's own daemon.
	{from: "cmd/xenactor-bench", deny: []string{"cmd"}, allow: []string{"cmd/xenactord/daemon"}},
}

// inLayer reports whether the module-relative package path rel is layer or
// below it.
func inLayer(rel, layer string) bool {
	return layer == "" || rel == layer || strings.HasPrefix(rel, layer+"/")
}

// command returns "cmd/<name>" for a package under cmd/, else "".
func command(rel string) string {
	parts := strings.SplitN(rel, "/", 3)
	if len(parts) < 2 || parts[0] != "cmd" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// check returns an error when the edge from -> to (both import paths)
// breaks r. Imports from outside the module are never constrained.
func (r layerRule) check(from, to string) error {
	fromRel, ok := relPath(from)
	if !ok || !inLayer(fromRel, r.from) || slices.ContainsFunc(r.except, func(l string) bool { return inLayer(fromRel, l) }) {
		return nil
	}
	toRel, ok := relPath(to)
	if !ok {
		return nil
	}
	for _, layer := range r.deny {
		if !inLayer(toRel, layer) || slices.ContainsFunc(r.allow, func(l string) bool { return inLayer(toRel, l) }) {
			continue
		}
		if layer == "cmd" && command(toRel) != "" && command(toRel) == command(fromRel) {
			continue
		}
		return fmt.Errorf("%s imports %s: %s must not import %s/", from, to, layerName(r.from), layer)
	}
	if len(r.only) > 0 && !slices.ContainsFunc(r.only, func(l string) bool { return inLayer(toRel, l) }) {
		return fmt.Errorf("%s imports %s: %s may import only %s of the project",
			from, to, layerName(r.from), strings.Join(r.only, "/, ")+"/")
	}
	return nil
}

func layerName(layer string) string {
	if layer == "" {
		return "no package"
	}
	return layer + "/"
}

// relPath returns the module-relative path of an import path of the
// module; ok is false for packages outside it.
func relPath(importPath string) (rel string, ok bool) {
	if importPath == module {
		return "", true
	}
	return strings.CutPrefix(importPath, module+"/")
}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Error      *struct{ Err string }
}

// listPackages runs `go list` over the whole module.
func listPackages(t *testing.T) []listedPackage {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Error", "./...")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		if p.Error != nil {
			t.Logf("go list: %s: %s (its imports may be incomplete)", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLayers_OneWay(t *testing.T) {
	pkgs := listPackages(t)
	paths := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		paths = append(paths, p.ImportPath)
		for _, imp := range p.Imports {
			for _, r := range rules {
				if err := r.check(p.ImportPath, imp); err != nil {
					t.Error(err)
				}
			}
		}
	}
	// Guard against a vacuous pass: go list must have seen the module.
	for _, want := range []string{module + "/internal/errdefs", module + "/archtest"} {
		if !slices.Contains(paths, want) {
			t.Errorf("go list did not report %s; got %v", want, paths)
		}
	}
}

// TestLayerRule_Check feeds the rules fabricated edges, so that a rule that
// could never fire is caught too.
func TestLayerRule_Check(t *testing.T) {
	m := func(rel string) string { return module + "/" + rel }
	for _, tc := range []struct {
		from, to string
		wantErr  bool
	}{
		{m("hostio/xenstore"), m("actors/domain"), true},
		{m("hostio/sim"), m("supervisors"), true},
		{m("hostio/xenstore/xenstored"), m("client"), true},
		{m("hostio/qmp"), m("bench/xenstore"), true},
		{m("internal/testenv"), m("hostio/xenstore"), true},
		{m("internal/telemetry"), m("messages"), true},
		{m("internal/apiwire"), m("actors/vm"), true},
		{m("internal/apiwire"), m("hostio/xenstore"), true},
		{m("actors/vm"), m("client"), true},
		{m("actors/vm"), m("cmd/xenactord"), true},
		{m("actors/vm"), m("bench"), true},
		{m("messages"), m("hostio/xenstore"), true},
		{m("messages"), m("actors"), true},
		{m("bench/xenstore"), m("actors/host"), true},
		{m("bench"), m("supervisors"), true},
		{m("client"), m("cmd/xenactor/internal/flags"), true},
		{m("cmd/xenactor"), m("cmd/xenactord/config"), true},
		{m("test/cxenstored"), m("cmd/xenactor-xenstored"), true},
		{m("cmd/xenactor-bench"), m("cmd/xenactord"), true},
		{m("cmd/xenactor-bench"), m("cmd/xenactor/internal/flags"), true},
		{m("bench/apibench"), m("cmd/xenactord/daemon"), true},

		{m("hostio/xenstore"), m("internal/errdefs"), false},
		{m("hostio/xenstore/xenstored"), m("hostio/xenstore"), false},
		{m("internal/testenv"), m("internal/errdefs"), false},
		{m("internal/apiwire"), m("messages"), false},
		{m("actors/vm"), m("hostio/xenstore"), false},
		{m("actors/vm"), m("messages"), false},
		{m("bench"), m("client"), false},
		{m("bench"), m("test/cxenstored"), false},
		{m("cmd/xenactord"), m("actors/host"), false},
		{m("cmd/xenactor"), m("cmd/xenactor/internal/flags"), false},
		{m("cmd/xenactor-bench"), m("cmd/xenactord/daemon"), false},
		{m("hostio/xenstore"), "github.com/stretchr/testify/require", false},
		{m("hostio/xenstore"), "os/exec", false},
		{m("hostiox"), m("actors"), false}, // a prefix of a name is not its layer
	} {
		var errs []error
		for _, r := range rules {
			errs = append(errs, r.check(tc.from, tc.to))
		}
		err := errors.Join(errs...)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s -> %s: error = %v, want error: %v", tc.from, tc.to, err, tc.wantErr)
		}
	}
}
