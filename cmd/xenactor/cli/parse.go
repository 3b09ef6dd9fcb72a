package cli

import (
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"

	"github.com/xenactor/xenactor/messages"
)

// parseMemory parses a memory size into KiB: a number with a unit K, M, G or
// T (KiB, MiB, ... and a trailing "B" or "iB" are accepted too); a bare
// number is MiB.
func parseMemory(s string) (uint64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	shift := uint(10)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			shift, t = 0, t[:n-1]
		case 'M':
			shift, t = 10, t[:n-1]
		case 'G':
			shift, t = 20, t[:n-1]
		case 'T':
			shift, t = 30, t[:n-1]
		}
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil || v == 0 || v > (1<<62)>>shift {
		return 0, usagef("memory size %q: want a positive number with a unit K, M, G or T (e.g. 512M)", s)
	}
	return v << shift, nil
}

// parseDomainType parses pv, pvh or hvm.
func parseDomainType(s string) (messages.DomainType, error) {
	switch strings.ToLower(s) {
	case "pv":
		return messages.DomainType_DOMAIN_TYPE_PV, nil
	case "pvh":
		return messages.DomainType_DOMAIN_TYPE_PVH, nil
	case "hvm":
		return messages.DomainType_DOMAIN_TYPE_HVM, nil
	}
	return 0, usagef("domain type %q: want pv, pvh or hvm", s)
}

// keyValues parses "k=v,k=v,flag" into a map; a bare flag maps to "".
func keyValues(s string, known ...string) (map[string]string, error) {
	kv := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k == "" {
			continue
		}
		ok := false
		for _, name := range known {
			ok = ok || name == k
		}
		if !ok {
			return nil, usagef("%q: unknown key %q (want %s)", s, k, strings.Join(known, ", "))
		}
		kv[k] = v
	}
	return kv, nil
}

// parseDevid parses a device id.
func parseDevid(s string) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil || v < 0 {
		return 0, usagef("device id %q: want a number >= 0", s)
	}
	return int32(v), nil
}

// parseVBD parses devid=51712,params=/dev/loop0[,ro][,vdi=sr/key].
func parseVBD(s string) (*messages.VBD, error) {
	kv, err := keyValues(s, "devid", "params", "ro", "vdi")
	if err != nil {
		return nil, err
	}
	devid, ok := kv["devid"]
	if !ok {
		return nil, usagef("vbd %q: devid= is missing", s)
	}
	vbd := &messages.VBD{Params: kv["params"], Vdi: kv["vdi"]}
	if vbd.Devid, err = parseDevid(devid); err != nil {
		return nil, err
	}
	if ro, ok := kv["ro"]; ok {
		vbd.ReadOnly = ro == "" || ro == "1" || ro == "true"
	}
	if vbd.Params == "" && vbd.Vdi == "" {
		return nil, usagef("vbd %q: params= or vdi= is missing", s)
	}
	return vbd, nil
}

// parseVIF parses devid=0,mac=00:16:3e:..,bridge=xenbr0.
func parseVIF(s string) (*messages.VIF, error) {
	kv, err := keyValues(s, "devid", "mac", "bridge", "network", "uuid")
	if err != nil {
		return nil, err
	}
	devid, ok := kv["devid"]
	if !ok {
		return nil, usagef("vif %q: devid= is missing", s)
	}
	vif := &messages.VIF{Mac: kv["mac"], Bridge: kv["bridge"], Network: kv["network"], Uuid: kv["uuid"]}
	if vif.Devid, err = parseDevid(devid); err != nil {
		return nil, err
	}
	return vif, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// looksLikeUUID reports whether s has the form of a UUID.
func looksLikeUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", r):
			return false
		}
	}
	return true
}
