// Package archtest holds no code, only a test that keeps the layers of
// DESIGN.md one-way: it lists every package of the module with `go list`
// and fails when a package directly imports a layer it must not (hostio
// importing actors, anything importing cmd, ...).
package archtest
