package storage_test

import (
	"context"
	"fmt"
	"time"

	"github.com/xenactor/xenactor/hostio/storage"
)

// A host's SRs in a registry, a volume created in one and attached for a
// domain through its VDI reference. (Not run: it needs an installed
// plugin.)
func ExampleRegistry() {
	ctx := context.Background()
	reg := storage.NewRegistry(storage.WithTimeout(30 * time.Second))
	if err := reg.Add(storage.SR{Name: "local", PluginDir: "/usr/libexec/xenactor/sm/file",
		URI: "file:///srv/sr-local"}); err != nil {
		panic(err)
	}
	sr, _ := reg.Client("local")
	v, err := sr.Create(ctx, "xvda", "the system disk", 8<<30)
	if err != nil {
		panic(err)
	}
	c, key, _ := reg.Lookup("local/" + v.Key)
	att, err := c.Attach(ctx, key, "5")
	if err != nil {
		panic(err)
	}
	fmt.Println(att.Params) // blkback's params
}
