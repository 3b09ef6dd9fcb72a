package statedir_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xenactor/xenactor/hostio/statedir"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func ExampleOpen() {
	ctx := context.Background()
	base, err := os.MkdirTemp("", "xenactor-state-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(base)
	dir := filepath.Join(base, "state") // e.g. /run/xenactor/state

	type vm struct {
		UUID  string `json:"uuid"`
		Domid int    `json:"domid"`
	}

	// The daemon holds the directory while it runs.
	store, err := statedir.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, uuid := range []string{"b3c1e0a2-0000-4000-8000-000000000002", "a7f0c9d1-0000-4000-8000-000000000001"} {
		if err := store.Put(ctx, "vm", uuid, vm{UUID: uuid, Domid: i + 1}); err != nil {
			fmt.Println(err)
			return
		}
	}
	_, err = statedir.Open(dir)
	fmt.Println("second daemon busy:", errdefs.IsBusy(err))
	store.Close()

	// After a restart the daemon re-adopts the VMs it managed.
	store, err = statedir.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	err = store.Load(ctx, "vm", func(id string, raw json.RawMessage) error {
		var v vm
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		fmt.Printf("re-adopt %s domid %d\n", v.UUID, v.Domid)
		return nil
	})
	if err != nil {
		fmt.Println(err) // damaged records were moved aside; the rest loaded
	}
	// Output:
	// second daemon busy: true
	// re-adopt a7f0c9d1-0000-4000-8000-000000000001 domid 2
	// re-adopt b3c1e0a2-0000-4000-8000-000000000002 domid 1
}
