package storage

import (
	"context"
	"time"
)

// options are the limits of a Client's calls.
type options struct {
	timeout   time.Duration
	maxOutput int
}

func newOptions(opts []Option) options {
	o := options{timeout: DefaultTimeout, maxOutput: DefaultMaxOutputBytes}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// Option sets a limit of a Client's calls.
type Option func(*options)

// WithTimeout bounds each call (DefaultTimeout without it); a plugin still
// running then is killed with its process group. A zero or negative d is
// ignored.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithMaxOutput caps what a call may print on stdout, and on stderr, in
// bytes (DefaultMaxOutputBytes without it); a plugin printing more is
// killed with its process group. A zero or negative n is ignored.
func WithMaxOutput(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxOutput = n
		}
	}
}

// Client calls one plugin for one SR. It is safe for concurrent use: each
// call is its own process.
type Client struct {
	dir string
	sr  string
	o   options
}

// NewClient returns a client of the plugin in pluginDir for the SR at
// srURI (what the plugin understands: "file:///srv/sr1" for the file
// plugin).
func NewClient(pluginDir, srURI string, opts ...Option) *Client {
	return &Client{dir: pluginDir, sr: srURI, o: newOptions(opts)}
}

// PluginDir returns the plugin's directory.
func (c *Client) PluginDir() string { return c.dir }

// SR returns the SR's URI.
func (c *Client) SR() string { return c.sr }

// Call runs the plugin's executable fn with args (args.SR set to the
// client's SR) and decodes its JSON reply into reply; a nil reply accepts
// an empty output. Errors are *Error.
func (c *Client) Call(ctx context.Context, fn string, args Args, reply any) error {
	args.SR = c.sr
	return call(ctx, c.dir, fn, c.o, args, reply)
}

// Create makes a volume of sizeBytes (Volume.create).
func (c *Client) Create(ctx context.Context, name, description string, sizeBytes uint64) (Volume, error) {
	var v Volume
	err := c.Call(ctx, VolumeCreate, Args{Name: name, Description: description, Size: sizeBytes}, &v)
	return v, err
}

// Destroy deletes the volume key (Volume.destroy).
func (c *Client) Destroy(ctx context.Context, key string) error {
	return c.Call(ctx, VolumeDestroy, Args{Key: key}, nil)
}

// Resize sets the volume's virtual size to sizeBytes (Volume.resize).
func (c *Client) Resize(ctx context.Context, key string, sizeBytes uint64) (Volume, error) {
	var v Volume
	err := c.Call(ctx, VolumeResize, Args{Key: key, Size: sizeBytes}, &v)
	return v, err
}

// Clone makes a writable copy of the volume (Volume.clone).
func (c *Client) Clone(ctx context.Context, key string) (Volume, error) {
	var v Volume
	err := c.Call(ctx, VolumeClone, Args{Key: key}, &v)
	return v, err
}

// Snapshot makes a read-only copy of the volume (Volume.snapshot).
func (c *Client) Snapshot(ctx context.Context, key string) (Volume, error) {
	var v Volume
	err := c.Call(ctx, VolumeSnapshot, Args{Key: key}, &v)
	return v, err
}

// Stat describes the volume (Volume.stat).
func (c *Client) Stat(ctx context.Context, key string) (Volume, error) {
	var v Volume
	err := c.Call(ctx, VolumeStat, Args{Key: key}, &v)
	return v, err
}

// List describes every volume of the SR (Volume.ls).
func (c *Client) List(ctx context.Context) ([]Volume, error) {
	var vs []Volume
	err := c.Call(ctx, VolumeLs, Args{}, &vs)
	return vs, err
}

// Attach prepares the volume for domain's backend and says how the
// backend reaches it (Datapath.attach).
func (c *Client) Attach(ctx context.Context, key, domain string) (Attachment, error) {
	var a Attachment
	err := c.Call(ctx, DatapathAttach, Args{Key: key, Domain: domain}, &a)
	return a, err
}

// Activate lets I/O flow to the attached volume (Datapath.activate).
func (c *Client) Activate(ctx context.Context, key, domain string) error {
	return c.Call(ctx, DatapathActivate, Args{Key: key, Domain: domain}, nil)
}

// Deactivate stops I/O to the volume (Datapath.deactivate).
func (c *Client) Deactivate(ctx context.Context, key, domain string) error {
	return c.Call(ctx, DatapathDeactivate, Args{Key: key, Domain: domain}, nil)
}

// Detach undoes Attach (Datapath.detach).
func (c *Client) Detach(ctx context.Context, key, domain string) error {
	return c.Call(ctx, DatapathDetach, Args{Key: key, Domain: domain}, nil)
}
