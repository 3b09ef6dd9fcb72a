// Package hypervisortest is the conformance suite of the hypervisor
// interface. Every implementation runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		hypervisortest.Run(t, func(t *testing.T) hypervisor.Hypervisor { return hvsim.New(hvsim.Config{}) })
//	}
//
// The suite creates its own domains, destroys them when each test ends and
// never pauses, shuts down or destroys a domain it did not create, so a
// real host may run it. Checks of memory contents need the implementation
// to also satisfy PageAccess; without it they are skipped.
package hypervisortest
