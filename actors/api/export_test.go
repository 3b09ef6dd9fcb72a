package api

// WithBeforeServe returns cfg with a hook called with the op's name before
// each request is served.
func WithBeforeServe(cfg Config, f func(op string)) Config {
	cfg.beforeServe = f
	return cfg
}
