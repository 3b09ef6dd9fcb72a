// Package chaos is the chaos suite: a seeded fault injector and a storm
// driver that run VM operations (create, start, clean and hard shutdown,
// reboot, pause, hot-plug, suspend and resume, destroy, remove) against a
// xenactord while faults are injected at random, and an invariant checker
// run after each run.
//
// The daemon runs in a child process (Options.Child, `xenactor-bench
// chaos-daemon`, ChildMain) on a simulated host that this process serves
// (Host) and that outlives it, so the daemon can be killed with SIGKILL and
// started again on the same host and state directory. The storm runs in the
// child through the public client, in process (one API connection per
// process is all protoactor's remote layer allows, and a restarted daemon
// would need another). Faults inside the daemon (actor panics, daemon
// kills, slow or failing storage plugins) are armed in the child through an
// Injector; the others (xenstore connection drops, SIGKILL of xenactord,
// slow backends, failing hotplug) come from this process.
//
// After each run the child settles (every task terminal) and reports its
// view; Check compares it with the hypervisor's domain list and the
// xenstore tree. Then the child removes every VM, and the daemon's
// goroutines (go_goroutines of its /metrics) and open files (/proc/<pid>/fd)
// are sampled: their growth across runs is bounded.
package chaos
