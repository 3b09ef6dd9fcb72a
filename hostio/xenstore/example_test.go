package xenstore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := xenstore.Dial(ctx, "") // $XENSTORED_PATH or the default socket
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()

	name, err := c.Read(ctx, "/local/domain/0/name")
	if err != nil {
		fmt.Println("read:", err)
		return
	}
	fmt.Printf("dom0 is called %s\n", name)

	// Bump a counter atomically; conflicts are retried.
	err = c.Update(ctx, func(ctx context.Context, tx *xenstore.Tx) error {
		v, err := tx.Read(ctx, "/tool/counter")
		if errdefs.IsNotFound(err) {
			v, err = nil, nil
		}
		if err != nil {
			return err
		}
		return tx.Write(ctx, "/tool/counter", append(v, '+'))
	})
	if err != nil {
		fmt.Println("update:", err)
		return
	}

	w, err := c.Watch(ctx, "/local/domain", "domains")
	if err != nil {
		fmt.Println("watch:", err)
		return
	}
	defer w.Close(context.Background())
	for ev := range w.Events() {
		fmt.Println("changed:", ev.Path)
		break
	}
}
