package api

// GetStats asks the api actor for its counters; the reply is a *Stats. It
// is a local message: the remote gate lets only *messages.Request through.
type GetStats struct{}

// Stats are the api actor's counters since it started.
type Stats struct {
	InFlight int64 // requests being served now
	Served   int64 // requests answered after running (errors included)
	Rejected int64 // requests answered "resource_exhausted" at once, over MaxInFlight
	Dropped  int64 // requests without a sender, not answered
	Panics   int64 // handlers that panicked, answered as errors
}
