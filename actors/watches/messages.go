package watches

import "strings"

// The reasons a domain needs attention; a coalesced notification joins
// several with commas, in this order.
const (
	WhyIntroduce   = "introduce"   // @introduceDomain/<domid>
	WhyRelease     = "release"     // @releaseDomain/<domid>
	WhyRescan      = "rescan"      // DomID is 0: list the domains (global watches registered, or fired without a domid)
	WhyReconnected = "reconnected" // the watches were registered again on a new connection: re-check
	WhyWatched     = "watched"     // the watches of WatchDomain are registered: check once, as a change may have come before
	WhyHome        = "home"        // the home node itself, or a key not listed below
	WhyDevice      = "device"      // device/ (frontends) or a backend directory
	WhyControl     = "control"
	WhyData        = "data"
	WhyAttr        = "attr"
	WhyMemory      = "memory"
	WhyFeature     = "feature"
	WhyConsole     = "console"
)

// reasonNames lists the reasons by bit.
var reasonNames = [...]string{
	WhyIntroduce, WhyRelease, WhyRescan, WhyReconnected, WhyWatched, WhyHome, WhyDevice,
	WhyControl, WhyData, WhyAttr, WhyMemory, WhyFeature, WhyConsole,
}

// reasons is a set of reasons, one bit per entry of reasonNames.
type reasons uint16

func reasonOf(why string) reasons {
	for i, n := range reasonNames {
		if n == why {
			return 1 << i
		}
	}
	return 0
}

func (r reasons) String() string {
	var b strings.Builder
	for i, n := range reasonNames {
		if r&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
	}
	return b.String()
}

// NeedsAttention tells that domain DomID may have changed: re-read its
// state. Why names the reasons (see the Why constants), joined with commas
// when several events were coalesced.
type NeedsAttention struct {
	DomID uint32
	Why   string
}

// Has reports whether why is one of the notification's reasons.
func (n NeedsAttention) Has(why string) bool {
	for r := range strings.SplitSeq(n.Why, ",") {
		if r == why {
			return true
		}
	}
	return false
}

// WatchDomain asks for the per-domain watches of DomID. It is recorded at
// once and applied when connected; once the watches are registered the
// domain is notified with Why "watched", so a change made before they were
// is not missed. Watching a watched domain is a no-op. The reply is a Reply.
type WatchDomain struct {
	DomID uint32
}

// UnwatchDomain removes the per-domain watches of DomID; no notification
// for its home or backends is made once the reply is sent (one already
// being handed over may still arrive). Unwatching an unknown domain is a
// no-op. The reply is a Reply.
type UnwatchDomain struct {
	DomID uint32
}

// Reply answers WatchDomain and UnwatchDomain.
type Reply struct {
	Err error
}

// GetStatus asks for the actor's state; the reply is a *Status.
type GetStatus struct{}

// Status is the watches actor's state.
type Status struct {
	Connected bool     // a connection to xenstored is up
	Watched   []uint32 // the watched domains, ascending
	// Failing lists the watched domains whose last registration failed
	// on the current connection (a quota, say); they are retried with
	// backoff.
	Failing []uint32
}
