// Package api is the daemon's RPC entry point: the actor "api", which
// answers every *messages.Request with exactly one *messages.Response.
//
// The actor never blocks its mailbox. Each request runs on its own goroutine
// against the host actor (host.Client), the VM actors (vm.Client), the task
// registry (tasks.Client) and the update stream (events.Client), bounded by a
// global in-flight limit (Config.MaxInFlight): a request over the limit is
// answered at once with kind "resource_exhausted". Each request has a
// deadline (Config.Timeout); the long polls, WaitTask and NextEvents, wait at
// most Config.MaxWait and end early when the actor stops.
//
// A malformed request (no op, a missing or malformed uuid, an unknown enum
// value, a negative devid, a spec or device that does not validate, strings,
// lists or a request over the size caps) is answered with kind "invalid" and
// never reaches the actors behind. A handler that panics is answered with
// kind "unavailable"; the panic is counted (Stats).
//
// Errors travel as their errdefs kind (errdefs.Kind) and message. The
// conversions between the wire types (package messages) and the actors' Go
// types are in convert.go.
//
// Each request is a span "api.<Op>" (e.g. "api.StartVM"), a child of the span
// context the client put in Request.trace, extracted with the global
// OpenTracing tracer; the span's context goes into the calls to the actors.
package api
