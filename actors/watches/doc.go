// Package watches is the actor that turns xenstore watches into "needs
// attention" notifications.
//
// It holds one dom0 connection (from a dial function), the global watches
// on @introduceDomain and @releaseDomain, and per-domain watches on the
// domain's home (/local/domain/<d>) and its backend directories
// (/local/domain/0/backend/<kind>/<d>). Every event becomes a
// NeedsAttention{DomID, Why} handed to a Notifier. An event only marks a
// domain as needing attention: the consumer re-reads state and reconciles,
// so spurious and coalesced events are harmless.
//
// Notifications are coalesced per domain: at most one is pending per
// domain, the Notifier is called one notification at a time, and a domain
// is notified at most once per MinInterval. A guest flooding its home
// therefore causes a bounded number of notifications and the actor's
// memory does not grow with the events (only with the watched domains);
// the last change is still notified, after the interval.
//
// When the connection is lost the actor re-dials with a bounded
// exponential backoff, re-registers the global watches and every watched
// domain's, and then notifies each watched domain once with Why
// "reconnected". WatchDomain received while disconnected is recorded and
// applied once connected.
//
// Every connection, the first included, ends with NeedsAttention{DomID: 0,
// Why: "rescan"} once the global watches are registered: domains may have
// come and gone unseen. A consumer lists the domains then, and re-sends
// WatchDomain for those it manages (idempotent), which also covers a
// restart of this actor, whose new instance starts with no domain watched.
//
// Daemons without the WATCH depth argument (Debian's C xenstored 4.17)
// get plain global watches; their events carry no domid and become
// NeedsAttention{DomID: 0, Why: "rescan"}, so the consumer lists the
// domains and diffs them against the known set, as xenopsd does.
package watches
