package qmp

import (
	"testing"
)

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{
		`{"return": {}, "id": "xa-1"}`,
		`{"id": 2, "error": {"class": "CommandNotFound", "desc": "The command foo has not been found"}}`,
		`{"timestamp": {"seconds": 1795564348, "microseconds": 177716}, "event": "STOP"}`,
		`{"event": "DEVICE_DELETED", "data": {"device": "kbd0"}, "timestamp": {"seconds": -1, "microseconds": 9e9}}`,
		`{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}}, "capabilities": ["oob"]}}`,
		`[]`, `null`, `{"error": null}`, "\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		m, err := decodeMessage(line)
		if err == nil {
			if m.isEvent() {
				_ = m.event()
			} else if m.Error == nil && m.Return == nil {
				t.Fatalf("accepted %q as neither reply nor event", line)
			}
		}
		_, _ = decodeGreeting(line)
	})
}
