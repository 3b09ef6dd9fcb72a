package vm

// OnReceive sets the hook that sees every message of the VM actor first.
func OnReceive(c *Config, f func(msg any)) { c.onReceive = f }
