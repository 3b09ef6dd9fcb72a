package supervisors

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccounting_CountsAndSnapshot(t *testing.T) {
	var a Accounting // the zero value works
	at := time.Unix(1_700_000_000, 0)
	vbd := Key{Family: "vbd", Reason: "unavailable"}
	a.record(failure{key: vbd, child: "vm/1/vbd/1", text: "first", action: ActionRestart, delay: time.Second, at: at})
	a.record(failure{key: vbd, child: "vm/1/vbd/2", text: "second", action: ActionGiveUp, at: at.Add(time.Second)})
	a.record(failure{key: Key{"guest", ReasonPanic}, action: ActionEscalate})
	a.record(failure{key: Key{"guest", ReasonPanic}, action: ActionStop})
	a.record(failure{key: Key{"guest", ReasonPanic}, action: ActionResume})

	assert.Equal(t, map[Key]int{vbd: 2, {"guest", ReasonPanic}: 3}, a.Counts())
	snap := a.Snapshot()
	require.Len(t, snap, 2)
	assert.Equal(t, RestartRecord{Key: Key{"guest", ReasonPanic}, Failures: 3, Stops: 1, Escalations: 1, Resumes: 1,
		LastAction: ActionResume}, snap[0])
	assert.Equal(t, RestartRecord{Key: vbd, Failures: 2, Restarts: 1, GiveUps: 1, LastText: "second",
		LastChild: "vm/1/vbd/2", LastAction: ActionGiveUp, LastDelay: time.Second, LastAt: at.Add(time.Second)}, snap[1])

	snap[0].Failures = 99
	assert.Equal(t, 3, a.Snapshot()[0].Failures, "a snapshot is a copy")
}

func TestAccounting_TruncatesText(t *testing.T) {
	a := NewAccounting()
	a.record(failure{key: Key{"vm", ReasonPanic}, text: strings.Repeat("é", maxReasonText)})
	text := a.Snapshot()[0].LastText
	assert.LessOrEqual(t, len(text), maxReasonText)
	assert.Equal(t, strings.Repeat("é", maxReasonText/2), text, "cut on a rune boundary")
}

func TestAccounting_Concurrent(t *testing.T) {
	a := NewAccounting()
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range each {
				a.record(failure{key: Key{fmt.Sprint("family", w%2), fmt.Sprint("kind", i%3)}, action: ActionRestart})
			}
		}()
		go func() { // readers race the writers
			defer wg.Done()
			for range each {
				_ = a.Counts()
				_ = a.Snapshot()
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range a.Counts() {
		total += n
	}
	assert.Equal(t, writers*each, total)
	assert.Len(t, a.Counts(), 6)
}
