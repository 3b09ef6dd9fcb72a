// Package stunnel writes the configuration of stunnel (Debian's stunnel4),
// which terminates TLS in front of a daemon's plain TCP or Unix-socket
// port, and makes the self-signed certificate it uses when none is
// configured.
//
// The configuration keeps stunnel in the foreground without a pid file of
// its own, since hostio/process supervises it, and sends its log to stderr
// (the daemon's log file).
package stunnel
