// Package events is the update stream clients follow: xenopsd's "updates".
//
// The stream carries the ids of objects that changed ("vm/<uuid>",
// "vbd/<uuid>/<devid>", "task/<id>"), never their data, so changes coalesce:
// an id that changed a thousand times since a client last looked appears once,
// and the client re-reads the object with its stat call.
//
// Every change gets the next sequence number. A client long-polls with Get
// (Client.Next) from the last sequence it has seen and receives every id whose
// latest change is newer, plus the sequence to ask from next time; when
// nothing has changed the actor holds the request, without blocking its
// mailbox, until something does or the poll's timeout passes.
//
// # Following the stream
//
// A new client asks from 0, re-lists every object it cares about, then
// follows from the Next it was given. Listing after the first Get is safe: a
// change made while the client lists has a newer sequence and shows up in a
// later batch.
//
// A reply with Resync set means the client's position is no longer covered:
// the stream dropped ids newer than it to stay within its bound, or the
// position is from an earlier incarnation of the daemon. The client re-lists
// everything and follows from the reply's Next.
//
// Ids in GetReply.Removed belong to objects that are gone; each is reported
// like a change, so a client that was following sees it once.
//
// # Barriers
//
// InjectBarrier (Client.Barrier) puts "barrier/<n>" into the stream and
// replies with n and the barrier's sequence. Every change announced before the
// barrier has a smaller sequence, so a client has caught up with everything
// that happened before the barrier once it has read the batch that contains
// the barrier's id, which is exactly when the Next it holds reaches the
// barrier's Seq (BarrierReply.Reached).
package events
