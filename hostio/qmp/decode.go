package qmp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// Version is QEMU's version as its greeting gives it.
type Version struct {
	Major, Minor, Micro int
	// Package is the distribution's package version ("Debian 1:7.2+...").
	Package string
}

// String formats the version as major.minor.micro.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Micro) }

// Greeting is the first message of a QMP server.
type Greeting struct {
	Version      Version
	Capabilities []string
}

// Event is an asynchronous event of QEMU.
type Event struct {
	// Name is the event's name: "STOP", "RESUME", "DEVICE_DELETED", ...
	Name string
	// Data is the event's data object, nil when it has none.
	Data json.RawMessage
	// Time is when QEMU emitted it.
	Time time.Time
}

// message is one decoded message of the server: a reply (Return or
// Error set), or an event (Event set).
type message struct {
	ID     json.RawMessage `json:"id"`
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data"`
	Timestamp *struct {
		Seconds      int64 `json:"seconds"`
		Microseconds int64 `json:"microseconds"`
	} `json:"timestamp"`
}

// isEvent reports whether m is an event rather than a reply.
func (m *message) isEvent() bool { return m.Event != "" }

// event converts m to an Event.
func (m *message) event() Event {
	ev := Event{Name: m.Event}
	if len(m.Data) > 0 && !bytes.Equal(m.Data, []byte("null")) {
		ev.Data = m.Data
	}
	if ts := m.Timestamp; ts != nil && ts.Seconds >= 0 && ts.Microseconds >= 0 && ts.Microseconds < 1e6 {
		ev.Time = time.Unix(ts.Seconds, ts.Microseconds*int64(time.Microsecond/time.Nanosecond))
	}
	return ev
}

// decodeMessage decodes one line of the server after the greeting. A line
// that is not a JSON object, or is neither a reply nor an event, is an
// error of kind ErrInvalid.
func decodeMessage(line []byte) (*message, error) {
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("qmp: malformed message %s: %v: %w", quote(line), err, errdefs.ErrInvalid)
	}
	switch {
	case m.Event != "":
	case m.Error != nil:
		if m.Error.Class == "" {
			return nil, fmt.Errorf("qmp: error reply without a class %s: %w", quote(line), errdefs.ErrInvalid)
		}
	case m.Return != nil:
	default:
		return nil, fmt.Errorf("qmp: message is neither a reply nor an event %s: %w", quote(line), errdefs.ErrInvalid)
	}
	return &m, nil
}

// decodeGreeting decodes the server's first line.
func decodeGreeting(line []byte) (Greeting, error) {
	var g struct {
		QMP *struct {
			Version struct {
				Qemu struct {
					Major, Minor, Micro int
				} `json:"qemu"`
				Package string `json:"package"`
			} `json:"version"`
			Capabilities []string `json:"capabilities"`
		} `json:"QMP"`
	}
	if err := json.Unmarshal(line, &g); err != nil || g.QMP == nil {
		return Greeting{}, fmt.Errorf("qmp: not a QMP greeting: %s: %w", quote(line), errdefs.ErrInvalid)
	}
	v := g.QMP.Version
	return Greeting{Version: Version{Major: v.Qemu.Major, Minor: v.Qemu.Minor, Micro: v.Qemu.Micro,
		Package: v.Package}, Capabilities: g.QMP.Capabilities}, nil
}

// quote shortens a peer's line for an error message.
func quote(line []byte) string {
	const max = 120
	if len(line) > max {
		return fmt.Sprintf("%q...", line[:max])
	}
	return fmt.Sprintf("%q", line)
}
