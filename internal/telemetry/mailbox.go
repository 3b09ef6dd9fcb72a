package telemetry

import "github.com/prometheus/client_golang/prometheus"

var mailboxBacklog = NewGauge(Desc{Subsystem: "actor", Name: "mailbox_backlog", Unit: "messages",
	Help:   "Messages posted to the mailboxes of a family of actors (host, vm) and not yet received.",
	Labels: []string{"family"}})

// MailboxBacklog is a protoactor-go mailbox middleware
// (actor.Unbounded(b)) that counts the messages waiting in the mailboxes of
// one family of actors in xenactor_actor_mailbox_backlog_messages.
// protoactor-go's own protoactor_actor_mailbox_length never reports: its
// callback is registered without naming the gauge, which the OpenTelemetry
// SDK ignores.
type MailboxBacklog struct{ g prometheus.Gauge }

// NewMailboxBacklog returns the middleware of family's mailboxes.
func NewMailboxBacklog(family string) *MailboxBacklog {
	return &MailboxBacklog{g: mailboxBacklog.WithLabelValues(family)}
}

// MailboxStarted does nothing.
func (b *MailboxBacklog) MailboxStarted() {}

// MessagePosted counts a message in.
func (b *MailboxBacklog) MessagePosted(any) { b.g.Inc() }

// MessageReceived counts a message out.
func (b *MailboxBacklog) MessageReceived(any) { b.g.Dec() }

// MailboxEmpty does nothing.
func (b *MailboxBacklog) MailboxEmpty() {}
