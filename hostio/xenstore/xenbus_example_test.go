package xenstore_test

import (
	"context"
	"fmt"

	"github.com/xenactor/xenactor/hostio/xenstore"
)

// Inside a guest, xenstore is the kernel's xenbus device; paths are
// relative to the guest's home.
func ExampleOpenXenbus() {
	xs, err := xenstore.OpenXenbus(xenstore.DefaultXenbusDevice)
	if err != nil {
		fmt.Println("not a Xen guest:", err)
		return
	}
	defer xs.Close()
	uid, err := xs.Read(context.Background(), "unique-domain-id")
	fmt.Println(string(uid), err)
}
