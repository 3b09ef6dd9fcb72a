// Command xenactor-pvsproxy is a stand-in for the PVS proxy daemon: it
// follows the PVS settings of the VIFs in xenstore and reports the VIFs it
// serves on a control socket. See package hostio/pvsproxy.
package main

import (
	"os"

	"github.com/xenactor/xenactor/hostio/pvsproxy"
)

func main() {
	os.Exit(pvsproxy.Main(os.Args[1:], os.Stderr))
}
