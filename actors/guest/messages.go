package guest

// Refresh asks the actor to read the guest's reports again: the VM actor
// sends it when a watch says the guest wrote something. Refreshes are
// coalesced and rate limited; there is no reply.
type Refresh struct{}

// GetMetrics asks for the latest metrics; the reply is a GetMetricsReply.
type GetMetrics struct{}

// GetMetricsReply answers GetMetrics.
type GetMetricsReply struct {
	Metrics GuestMetrics // zero until the first read finished
	Stats   Stats
}

// MetricsChanged tells Config.Owner that the metrics of guest DomID
// changed; Metrics is the owner's own copy.
type MetricsChanged struct {
	VMUUID  string
	DomID   uint32
	Metrics GuestMetrics
}

// Stats says how much reading the actor did, for tests and metrics.
type Stats struct {
	Reads   uint64 // reads started
	Changes uint64 // reads whose metrics differed from the one before
	LastErr error  // the error of the last read, nil if it succeeded
}

// readDone is the self-message of a finished read; panicked is what the
// read panicked with, if it did.
type readDone struct {
	metrics  GuestMetrics
	err      error
	panicked any
}

// readDue is the self-message of the rate limit's timer.
type readDue struct{}
