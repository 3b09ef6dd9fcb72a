package pool

// Members returns the live members the provider knows, by host name, with
// their pool addresses.
func (p *Pool) Members() map[string]string {
	out := map[string]string{}
	for h, m := range p.provider.live() {
		out[h] = m.address()
	}
	return out
}
