package process_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/xenactor/xenactor/hostio/process"
)

// A daemon started by one Manager is adopted by the next one, as after a
// restart of xenactord, and stopped through it.
func ExampleManager_Adopt() {
	run, err := os.MkdirTemp("", "x")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(run)
	ctx := context.Background()
	spec := process.Spec{Name: "sleeper", Path: "sleep", Args: []string{"3600"}}

	m, err := process.NewManager(run, process.WithGrace(5*time.Second))
	if err != nil {
		panic(err)
	}
	p, err := m.Start(ctx, spec)
	if err != nil {
		panic(err)
	}

	next, err := process.NewManager(run)
	if err != nil {
		panic(err)
	}
	q, err := next.Adopt(spec)
	if err != nil {
		panic(err)
	}
	fmt.Println("adopted the same process:", q.Pid() == p.Pid())

	if err := q.Stop(ctx); err != nil {
		panic(err)
	}
	<-p.Done()
	_, err = os.Stat(m.PidFile("sleeper"))
	fmt.Println("pid file removed:", os.IsNotExist(err))
	// Output:
	// adopted the same process: true
	// pid file removed: true
}
