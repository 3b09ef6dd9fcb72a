// Package apiwire is the transport of xenactord's RPC API: protoactor's
// remote layer (gRPC) made safe to expose.
//
// Serve starts the daemon's side: TLS 1.3 (or plaintext on loopback when
// asked), a token or client-certificate check before the library reads a
// single message, a gate that validates every message batch before the
// library decodes it (only messages.Request, to the local "api" actor, from
// the sender address the stream announced), per-client backpressure, and
// replies dialled back only to the callback address a client announced, over
// TLS pinned to the certificate it announced.
//
// Dial is the client's side: a Conn whose Call sends one messages.Request to
// the daemon's "api" actor and waits for its messages.Response.
//
// EnsureCredentials creates (on first start) and loads the local CA, the
// server and client certificates and the token; FindClientConfig finds the
// client.json the daemon writes beside them. docs/api.md describes the wire
// and the security model.
package apiwire
