package apiwire

import (
	"crypto/tls"
	"net"
)

// PoolServerName is the TLS server name a pool member asks for when it
// dials another member's migration listener: the listener then presents
// its pool certificate and requires the caller's, both of the pool's CA,
// instead of the API's certificate and token.
const PoolServerName = "pool.xenactor.invalid"

// MigrationClientTLS returns the TLS config a member dials another
// member's migration listener with: it asks for PoolServerName, presents
// the member's pool certificate and checks the listener's against the
// pool's CA (not against a name: members advertise IP addresses).
func (c *PoolCredentials) MigrationClientTLS() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		ServerName:   PoolServerName,
		Certificates: []tls.Certificate{c.Host},
		// The chain is checked below, against the pool's CA.
		InsecureSkipVerify:    true, //nolint:gosec
		VerifyPeerCertificate: verifyAgainst(c.CA),
	}
}

// MigrationServerTLS returns the TLS config of a daemon's migration
// listener: api's server certificate for the callers that bring the API's
// token, and, when pool is not nil, the pool certificate with a verified
// client certificate of the pool's CA required for the callers that ask
// for PoolServerName (PoolPeer tells them apart once the handshake is
// done).
func MigrationServerTLS(api *Credentials, pool *PoolCredentials) *tls.Config {
	cfg := api.ServerTLS()
	if pool == nil {
		return cfg
	}
	member := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pool.Host},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool.CA,
	}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		if hello.ServerName == PoolServerName {
			return member, nil
		}
		return nil, nil
	}
	return cfg
}

// PoolPeer reports whether conn, a connection of a listener serving
// MigrationServerTLS whose handshake is done, is a pool member's: it asked
// for PoolServerName and its client certificate was verified against the
// pool's CA.
func PoolPeer(conn net.Conn) bool {
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return false
	}
	st := tc.ConnectionState()
	return st.HandshakeComplete && st.ServerName == PoolServerName && len(st.VerifiedChains) > 0
}
