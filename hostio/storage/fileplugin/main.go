package fileplugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// maxArgsBytes caps the JSON arguments read on stdin.
const maxArgsBytes = 1 << 20

// Main runs the plugin with the command line args (args[0] the name it was
// run by) and returns its exit status. Run as "<Interface>.<function>"
// (a symlink of a plugin directory) or as "<binary> <Interface>.<function>",
// it reads the call's JSON arguments on stdin and prints the JSON reply on
// stdout, or a storage.PluginError and exits 1. "<binary> install <dir>"
// makes dir a plugin directory of symlinks to the binary.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fn := ""
	if len(args) > 0 {
		fn = filepath.Base(args[0])
	}
	if !slices.Contains(storage.Functions, fn) {
		switch {
		case len(args) == 3 && args[1] == "install":
			self, err := os.Executable()
			if err == nil {
				err = storage.Install(args[2], self)
			}
			if err != nil {
				fmt.Fprintln(stderr, "xenactor-sm-file:", err)
				return 1
			}
			return 0
		case len(args) == 2 && slices.Contains(storage.Functions, args[1]):
			fn = args[1]
		default:
			fmt.Fprintf(stderr, "usage: %s install <plugin-dir> | <%s> (JSON arguments on stdin)\n",
				"xenactor-sm-file", strings.Join(storage.Functions, "|"))
			return 2
		}
	}
	reply, err := run(fn, stdin)
	enc := json.NewEncoder(stdout)
	if err != nil {
		code := errdefs.Kind(err)
		if code == "" {
			code = "unavailable"
		}
		_ = enc.Encode(storage.PluginError{Code: code, Message: err.Error()})
		return 1
	}
	if err := enc.Encode(reply); err != nil {
		fmt.Fprintln(stderr, "xenactor-sm-file:", err)
		return 1
	}
	return 0
}

// run decodes the arguments and runs fn on their SR.
func run(fn string, stdin io.Reader) (any, error) {
	b, err := io.ReadAll(io.LimitReader(stdin, maxArgsBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the arguments: %w", err)
	}
	if len(b) > maxArgsBytes {
		return nil, fmt.Errorf("arguments over %d bytes: %w", maxArgsBytes, errdefs.ErrInvalid)
	}
	var a storage.Args
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("arguments are not a JSON object: %v: %w", err, errdefs.ErrInvalid)
	}
	sr, err := OpenSR(a.SR)
	if err != nil {
		return nil, err
	}
	switch fn {
	case storage.VolumeCreate:
		return sr.Create(a.Name, a.Description, a.Size)
	case storage.VolumeDestroy:
		return nil, sr.Destroy(a.Key)
	case storage.VolumeResize:
		return sr.Resize(a.Key, a.Size)
	case storage.VolumeClone:
		return sr.Copy(a.Key, true)
	case storage.VolumeSnapshot:
		return sr.Copy(a.Key, false)
	case storage.VolumeStat:
		return sr.Stat(a.Key)
	case storage.VolumeLs:
		return sr.List()
	case storage.DatapathAttach:
		return sr.Attach(a.Key, a.Domain)
	case storage.DatapathActivate:
		return nil, sr.Activate(a.Key, a.Domain)
	case storage.DatapathDeactivate:
		return nil, sr.Deactivate(a.Key, a.Domain)
	case storage.DatapathDetach:
		return nil, sr.Detach(a.Key, a.Domain)
	}
	return nil, errors.New("unreachable")
}
