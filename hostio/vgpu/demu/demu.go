package demu

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// StateVersion is the version of the state file this stand-in writes.
const StateVersion = 1

// defaultFramebufferBytes is the framebuffer of a type that names none.
const defaultFramebufferBytes = 256 << 20

// State is what the stand-in saves and restores: its vGPU and its
// counters.
type State struct {
	Version          int    `json:"version"`
	Domain           int    `json:"domain"`
	GPU              string `json:"gpu"`
	Type             string `json:"type"`
	UUID             string `json:"uuid"`
	DevID            int    `json:"devid"`
	FramebufferBytes uint64 `json:"framebuffer-bytes"`
	Frames           uint64 `json:"frames"`
	Resumed          bool   `json:"resumed"`
}

// args are the parsed command line.
type args struct {
	domain, vcpus              int
	gpu, config, suspend, sock string
	resume                     bool
}

func parse(argv []string, stderr io.Writer) (args, error) {
	var a args
	fs := flag.NewFlagSet("xenactor-demu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&a.domain, "domain", 0, "the domain id")
	fs.IntVar(&a.vcpus, "vcpus", 1, "the domain's vCPUs")
	fs.StringVar(&a.gpu, "gpu", "", "the physical GPU, dddd:bb:dd.f")
	fs.StringVar(&a.config, "config", "", "the vGPU's config file")
	fs.StringVar(&a.suspend, "suspend", "", "the state file written on save-state and read with --resume")
	fs.BoolVar(&a.resume, "resume", false, "restore the state from the --suspend file")
	fs.StringVar(&a.sock, "control", "", "the control socket")
	if err := fs.Parse(argv); err != nil {
		return a, err
	}
	switch {
	case a.domain <= 0:
		return a, errors.New("--domain must be a domain id above 0")
	case a.vcpus <= 0:
		return a, errors.New("--vcpus must be positive")
	case a.gpu == "" || a.config == "" || a.suspend == "" || a.sock == "":
		return a, errors.New("--gpu, --config, --suspend and --control are required")
	}
	return a, nil
}

// Main runs the stand-in with the arguments argv (without the program's
// name) and returns its exit status.
func Main(argv []string, stderr io.Writer) int {
	a, err := parse(argv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "xenactor-demu:", err)
		return 2
	}
	e, err := newEmulator(a)
	if err != nil {
		fmt.Fprintln(stderr, "xenactor-demu:", err)
		return 1
	}
	_ = os.Remove(a.sock)
	l, err := net.Listen("unix", a.sock)
	if err != nil {
		fmt.Fprintln(stderr, "xenactor-demu:", err)
		return 1
	}
	defer os.Remove(a.sock)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	fmt.Fprintf(stderr, "xenactor-demu: domain %d vGPU %d (%s on %s) ready, resumed %v\n", a.domain,
		e.st.DevID, e.st.Type, a.gpu, a.resume)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go e.serve(c)
		}
	}()
	select {
	case s := <-sig:
		fmt.Fprintf(stderr, "xenactor-demu: %s, exiting\n", s)
	case <-e.quit:
		fmt.Fprintln(stderr, "xenactor-demu: quit, exiting")
	}
	l.Close()
	return 0
}

// emulator is the vGPU's state.
type emulator struct {
	a    args
	mu   sync.Mutex
	st   State
	quit chan struct{}
	once sync.Once
}

func newEmulator(a args) (*emulator, error) {
	cfg, err := readConfig(a.config)
	if err != nil {
		return nil, err
	}
	devid, _ := strconv.Atoi(cfg["devid"])
	st := State{Version: StateVersion, Domain: a.domain, GPU: a.gpu, Type: cfg["type"], UUID: cfg["uuid"],
		DevID: devid, FramebufferBytes: framebufferBytes(cfg["type"])}
	if st.Type == "" {
		return nil, fmt.Errorf("config %s: no type", a.config)
	}
	if a.resume {
		b, err := os.ReadFile(a.suspend)
		if err != nil {
			return nil, fmt.Errorf("resume: %w", err)
		}
		var saved State
		if err := json.Unmarshal(b, &saved); err != nil {
			return nil, fmt.Errorf("resume: state file %s: %w", a.suspend, err)
		}
		if saved.Version != StateVersion || saved.Type != st.Type || saved.GPU != st.GPU || saved.UUID != st.UUID {
			return nil, fmt.Errorf("resume: state of a %s vGPU %s on %s (version %d), not this %s vGPU %s on %s",
				saved.Type, saved.UUID, saved.GPU, saved.Version, st.Type, st.UUID, st.GPU)
		}
		st.Frames, st.Resumed = saved.Frames, true
	}
	return &emulator{a: a, st: st, quit: make(chan struct{})}, nil
}

// readConfig reads key=value lines.
func readConfig(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg := make(map[string]string)
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			cfg[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return cfg, nil
}

// framebufferBytes reads the framebuffer of an NVIDIA type name: "GRID
// T4-2Q" has 2 GiB.
func framebufferBytes(typ string) uint64 {
	_, suffix, ok := strings.Cut(typ, "-")
	if !ok {
		return defaultFramebufferBytes
	}
	digits := strings.TrimRightFunc(suffix, func(r rune) bool { return r < '0' || r > '9' })
	n, err := strconv.ParseUint(digits, 10, 16)
	if err != nil || n == 0 {
		return defaultFramebufferBytes
	}
	return n << 30
}

// message is a command or a reply on the control socket.
type message struct {
	Execute   string          `json:"execute,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	ID        json.RawMessage `json:"id,omitempty"`
	Return    any             `json:"return,omitempty"`
	Error     *replyError     `json:"error,omitempty"`
}

type replyError struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

// serve answers one control connection.
func (e *emulator) serve(c net.Conn) {
	defer c.Close()
	enc := json.NewEncoder(c)
	_ = enc.Encode(map[string]any{"QMP": map[string]any{
		"version":      map[string]any{"qemu": map[string]int{"major": 0, "minor": 1, "micro": 0}, "package": "xenactor-demu"},
		"capabilities": []string{}}})
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil || m.Execute == "" {
			_ = enc.Encode(message{Error: &replyError{"GenericError", "not a command"}})
			continue
		}
		ret, err := e.run(m)
		reply := message{ID: m.ID, Return: ret}
		if err != nil {
			reply = message{ID: m.ID, Error: err}
		} else if ret == nil {
			reply.Return = struct{}{}
		}
		_ = enc.Encode(reply)
		if m.Execute == "quit" {
			e.once.Do(func() { close(e.quit) })
			return
		}
	}
}

// run runs one command.
func (e *emulator) run(m message) (any, *replyError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch m.Execute {
	case "qmp_capabilities", "quit":
		return nil, nil
	case "query-status":
		return map[string]any{"status": "running", "running": true}, nil
	case "query-vgpu":
		return e.st, nil
	case "vgpu-frame":
		var args struct {
			Count uint64 `json:"count"`
		}
		if len(m.Arguments) > 0 {
			if err := json.Unmarshal(m.Arguments, &args); err != nil {
				return nil, &replyError{"GenericError", "vgpu-frame: " + err.Error()}
			}
		}
		if args.Count == 0 {
			args.Count = 1
		}
		e.st.Frames += args.Count
		return map[string]uint64{"frames": e.st.Frames}, nil
	case "save-state":
		n, err := e.save()
		if err != nil {
			return nil, &replyError{"GenericError", "save-state: " + err.Error()}
		}
		return map[string]int{"bytes": n}, nil
	}
	return nil, &replyError{"CommandNotFound", "the command " + m.Execute + " has not been found"}
}

// save writes the state to the suspend file atomically.
func (e *emulator) save() (int, error) {
	b, err := json.Marshal(e.st)
	if err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(e.a.suspend), ".demu-state-*")
	if err != nil {
		return 0, err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), e.a.suspend)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, err
	}
	return len(b), nil
}
