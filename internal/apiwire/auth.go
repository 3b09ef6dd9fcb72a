package apiwire

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"strconv"
	"strings"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// The stream metadata of the API.
const (
	// mdAuthorization carries "Bearer <token>".
	mdAuthorization = "authorization"
	// mdCallback is the address the client's remote listens on: where the
	// daemon dials its replies back.
	mdCallback = "xenactor-callback"
	// mdCallbackSHA256 is the hex SHA-256 fingerprint of the certificate the
	// callback server presents.
	mdCallbackSHA256 = "xenactor-callback-sha256"
)

// hasVerifiedCert reports whether the stream's peer presented a client
// certificate that chains to the CA (the TLS server config verifies it).
func hasVerifiedCert(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	return ok && len(info.State.VerifiedChains) > 0
}

// hasToken reports whether md carries "authorization: Bearer <token>"
// equal to token, compared in constant time.
func hasToken(md metadata.MD, token string) bool {
	if token == "" {
		return false
	}
	for _, v := range md.Get(mdAuthorization) {
		got, ok := strings.CutPrefix(v, "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
			return true
		}
	}
	return false
}

// first returns md's first value of key.
func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// validCallback reports whether addr is an IP literal and a port, the form
// a client's remote announces (never a name the daemon would resolve).
func validCallback(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || net.ParseIP(host) == nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n > 0 && n < 65536
}

// validFingerprint reports whether fp is a hex SHA-256.
func validFingerprint(fp string) bool {
	b, err := hex.DecodeString(fp)
	return err == nil && len(b) == 32
}

// isLoopback reports whether host:port names a loopback address.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
