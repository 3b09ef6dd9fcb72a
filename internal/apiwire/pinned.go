package apiwire

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc/credentials"
)

// pinnedCreds are the daemon's transport credentials for dialling replies
// back: TLS 1.3, presenting the daemon's certificate, to a peer whose
// certificate has the fingerprint its stream announced for that address.
type pinnedCreds struct {
	cert tls.Certificate
	cbs  *callbacks
}

var _ credentials.TransportCredentials = (*pinnedCreds)(nil)

// ClientHandshake runs TLS with authority's pinned fingerprint.
func (p *pinnedCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	want, ok := p.cbs.fingerprint(authority)
	if !ok {
		return nil, nil, fmt.Errorf("callback address %s is not registered", authority)
	}
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{p.cert},
		// The peer is checked against the pinned fingerprint instead of a
		// CA: it is the client's ephemeral self-signed certificate.
		InsecureSkipVerify: true, //nolint:gosec
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("callback presented no certificate")
			}
			if subtle.ConstantTimeCompare([]byte(fingerprint(raw[0])), []byte(want)) != 1 {
				return fmt.Errorf("callback %s certificate does not match its announced fingerprint", authority)
			}
			return nil
		},
	}
	return credentials.NewTLS(cfg).ClientHandshake(ctx, authority, conn)
}

// ServerHandshake is not used: these credentials only dial.
func (p *pinnedCreds) ServerHandshake(net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("pinned credentials only dial")
}

// Info describes the protocol.
func (p *pinnedCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls", SecurityVersion: "1.3"}
}

// Clone returns a copy sharing the callback table.
func (p *pinnedCreds) Clone() credentials.TransportCredentials {
	c := *p
	return &c
}

// OverrideServerName does nothing: the peer is pinned by fingerprint.
func (p *pinnedCreds) OverrideServerName(string) error { return nil }

// callbackDialer dials only registered callback addresses.
func callbackDialer(cbs *callbacks) func(context.Context, string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		if _, ok := cbs.fingerprint(addr); !ok {
			return nil, fmt.Errorf("callback address %s is not registered", addr)
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
}
