package pvsproxy

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/hostio/hypervisor"
	"github.com/xenactor/xenactor/hostio/ovs"
	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// The keys of a VIF's private directory that configure pvsproxy, as xapi
// writes them.
const (
	KeySite      = "pvs-site"
	KeyInterface = "pvs-interface"
	KeyServerNum = "pvs-server-num"
)

// MaxServerPorts bounds the port range of one server: a rule is
// installed for each port.
const MaxServerPorts = 256

// maxServers bounds the servers of a site.
const maxServers = 64

// ServerAddressesKey is pvs-server-<n>-addresses: the server's addresses,
// comma-separated.
func ServerAddressesKey(n int) string { return "pvs-server-" + strconv.Itoa(n) + "-addresses" }

// ServerPortsKey is pvs-server-<n>-ports: its UDP ports, "first-last".
func ServerPortsKey(n int) string { return "pvs-server-" + strconv.Itoa(n) + "-ports" }

// Server is one PVS server: its addresses and its range of UDP ports.
type Server struct {
	Addresses []string `json:"addresses"`
	FirstPort int      `json:"first_port"`
	LastPort  int      `json:"last_port"`
}

// Settings are the PVS settings of one VIF: the site (its uuid), its
// servers, and the proxy's port on the VIF's bridge.
type Settings struct {
	Site      string   `json:"site"`
	Servers   []Server `json:"servers"`
	Interface string   `json:"interface"`
}

// Validate checks the settings; anything wrong is errdefs.ErrInvalid.
func (s Settings) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("pvs: "+format+": %w", append(args, errdefs.ErrInvalid)...)
	}
	if _, err := hypervisor.ParseUUID(s.Site); err != nil {
		return bad("site %q is not a uuid", s.Site)
	}
	if err := ovs.ValidateName("proxy port", s.Interface); err != nil {
		return err
	}
	if len(s.Servers) == 0 || len(s.Servers) > maxServers {
		return bad("%d servers, want 1 to %d", len(s.Servers), maxServers)
	}
	for i, srv := range s.Servers {
		if len(srv.Addresses) == 0 {
			return bad("server %d has no address", i)
		}
		for _, a := range srv.Addresses {
			if _, err := netip.ParseAddr(a); err != nil {
				return bad("server %d: %q is not an IP address", i, a)
			}
		}
		if srv.FirstPort < 1 || srv.LastPort > 65535 || srv.FirstPort > srv.LastPort {
			return bad("server %d: ports %d-%d are not a range within [1, 65535]", i, srv.FirstPort, srv.LastPort)
		}
		if srv.LastPort-srv.FirstPort >= MaxServerPorts {
			return bad("server %d: ports %d-%d: more than %d", i, srv.FirstPort, srv.LastPort, MaxServerPorts)
		}
	}
	return nil
}

// Keys returns the private keys of the settings, relative to the VIF's
// private directory.
func (s Settings) Keys() [][2]string {
	keys := [][2]string{{KeySite, s.Site}, {KeyInterface, s.Interface},
		{KeyServerNum, strconv.Itoa(len(s.Servers))}}
	for i, srv := range s.Servers {
		keys = append(keys, [2]string{ServerAddressesKey(i), strings.Join(srv.Addresses, ",")},
			[2]string{ServerPortsKey(i), strconv.Itoa(srv.FirstPort) + "-" + strconv.Itoa(srv.LastPort)})
	}
	return keys
}

// Read reads the settings in the private directory dir; a directory
// without pvs-site is errdefs.ErrNotFound, malformed keys are
// errdefs.ErrInvalid.
func Read(ctx context.Context, xs *xenstore.Client, dir string) (Settings, error) {
	read := func(key string) (string, error) {
		b, err := xs.Read(ctx, dir+"/"+key)
		if err != nil {
			return "", fmt.Errorf("pvs: %s/%s: %w", dir, key, err)
		}
		return string(b), nil
	}
	var s Settings
	var err error
	if s.Site, err = read(KeySite); err != nil {
		return s, err
	}
	if s.Interface, err = read(KeyInterface); err != nil {
		return s, err
	}
	num, err := read(KeyServerNum)
	if err != nil {
		return s, err
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || n > maxServers {
		return s, fmt.Errorf("pvs: %s/%s: %q: %w", dir, KeyServerNum, num, errdefs.ErrInvalid)
	}
	for i := range n {
		addrs, err := read(ServerAddressesKey(i))
		if err != nil {
			return s, err
		}
		ports, err := read(ServerPortsKey(i))
		if err != nil {
			return s, err
		}
		first, last, ok := strings.Cut(ports, "-")
		lo, err1 := strconv.Atoi(first)
		hi, err2 := strconv.Atoi(last)
		if !ok || err1 != nil || err2 != nil {
			return s, fmt.Errorf("pvs: %s/%s: %q is not first-last: %w", dir, ServerPortsKey(i), ports, errdefs.ErrInvalid)
		}
		s.Servers = append(s.Servers, Server{Addresses: strings.Split(addrs, ","), FirstPort: lo, LastPort: hi})
	}
	return s, s.Validate()
}
