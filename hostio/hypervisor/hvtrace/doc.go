// Package hvtrace decorates a hypervisor.Hypervisor with OpenTracing spans:
// each call that changes a domain runs under the span "hypervisor.<call>"
// (hypervisor.create, hypervisor.build, ...), a child of the span in the
// call's context, tagged with the domain id. Calls whose context carries no
// span go straight to the hypervisor.
package hvtrace
