package guest

// The defaults of a Quota.
const (
	// DefaultMaxBytes is the reference's byte budget for one read of a
	// guest's reports.
	DefaultMaxBytes = 25 << 20
	// DefaultMaxNodes bounds the nodes one read visits (xenstore lets a guest
	// own 1000 by default, but dom0 may raise that).
	DefaultMaxNodes = 20_000
	// DefaultMaxDepth bounds how deep below data/, attr/, control/ and
	// memory/ a read goes; the deepest known key is
	// data/volumes/<n>/mount_points/<k>.
	DefaultMaxDepth = 6
	// DefaultMaxEntriesPerDir bounds the children read of one node.
	DefaultMaxEntriesPerDir = 1024
	// DefaultMaxValueBytes bounds one value kept (xenstore bounds a guest's
	// node at 2048 bytes).
	DefaultMaxValueBytes = 2048
	// DefaultMaxOther bounds GuestMetrics.Other.
	DefaultMaxOther = 256
)

// maxNotes bounds GuestMetrics.Dropped.
const maxNotes = 16

// wireOverheadBytes is charged for each request besides its payload, so a
// guest with many empty nodes still uses up the budget.
const wireOverheadBytes = 16

// Quota bounds one read of a guest's reports. Zero fields take the defaults.
//
// A request is sent only while a whole reply (4096 bytes) still fits in
// MaxBytes, so values never overshoot it. A directory listing is charged
// after it arrived, so one listing may overshoot by its own size; the
// per-domain node quota of xenstore bounds that.
type Quota struct {
	MaxBytes         int // names and values received, in bytes
	MaxNodes         int
	MaxDepth         int
	MaxEntriesPerDir int
	MaxValueBytes    int
	MaxOther         int
}

// DefaultQuota returns the defaults.
func DefaultQuota() Quota { return Quota{}.withDefaults() }

func (q Quota) withDefaults() Quota {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&q.MaxBytes, DefaultMaxBytes)
	def(&q.MaxNodes, DefaultMaxNodes)
	def(&q.MaxDepth, DefaultMaxDepth)
	def(&q.MaxEntriesPerDir, DefaultMaxEntriesPerDir)
	def(&q.MaxValueBytes, DefaultMaxValueBytes)
	def(&q.MaxOther, DefaultMaxOther)
	return q
}
