package qmp_test

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"github.com/xenactor/xenactor/hostio/qmp"
)

// FuzzClient feeds a client whatever a server may send after the
// negotiation: it must neither panic nor hang, and ends the connection
// when the server closes it.
func FuzzClient(f *testing.F) {
	for _, s := range []string{
		"{\"return\": {}, \"id\": \"xa-2\"}\n",
		"{\"event\": \"STOP\"}\n{\"return\": {\"status\": \"paused\"}}\n",
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"x\"}}\n",
		"\n\n{\"id\": \"xa-2\", \"return\": 1}\n{\"id\": \"xa-2\", \"return\": 2}\n",
		"[", "{\"return\"", "\x00\x01\x02\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			r := bufio.NewReader(server)
			if !negotiate(t, server, r) {
				return
			}
			_, _ = server.Write(data)
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		c, err := qmp.New(ctx, client, qmp.WithEventBuffer(2), qmp.WithMaxLine(4096))
		if err != nil {
			t.Fatalf("negotiation: %v", err)
		}
		defer c.Close()
		go func() {
			for range c.Events() {
			}
		}()
		var st qmp.Status
		_ = c.Run(ctx, "query-status", nil, &st)
		select {
		case <-c.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("the connection did not end after the server closed it")
		}
	})
}
