package events

import "time"

// Changed announces that the object with this id changed. Send it; there is no
// reply.
type Changed struct {
	ID string
}

// Removed announces that the object with this id is gone. It is reported in
// the stream like a change, under GetReply.Removed. Send it; there is no reply.
type Removed struct {
	ID string
}

// Get asks for the ids changed after the sequence From. When there are none it
// is held until something changes or Timeout passes, and answered with a
// GetReply either way; a Timeout of zero or less answers at once.
type Get struct {
	From    uint64
	Timeout time.Duration
}

// GetReply answers Get.
type GetReply struct {
	// IDs changed after From, oldest change first, each once.
	IDs []string
	// Removed holds the ids of objects removed after From.
	Removed []string
	// Next is the sequence to ask from next time.
	Next uint64
	// Resync means From is no longer covered by the stream: re-list every
	// object, then follow from Next.
	Resync bool
}

// Empty reports whether the reply carries nothing to act on (a poll that
// timed out).
func (r *GetReply) Empty() bool {
	return len(r.IDs) == 0 && len(r.Removed) == 0 && !r.Resync
}

// InjectBarrier puts a new barrier into the stream; the reply is a
// BarrierReply.
type InjectBarrier struct{}

// BarrierReply answers InjectBarrier: the barrier's number (its stream id is
// BarrierID(ID)) and the sequence it was given.
type BarrierReply struct {
	ID  int
	Seq uint64
}

// Reached reports whether a client whose next position is next has read every
// change made before the barrier.
func (b *BarrierReply) Reached(next uint64) bool { return next >= b.Seq }

// pollExpired is the self-message that ends a held Get whose timeout passed.
type pollExpired struct {
	key string
}

// forgetPoll tells the stream that the client holding a Get gave up (its
// context ended), so the held request can go.
type forgetPoll struct {
	key string
}
