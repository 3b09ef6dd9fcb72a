package storage

// The interfaces and functions a plugin implements, each an executable
// named "<Interface>.<function>" in the plugin directory.
const (
	VolumeCreate       = "Volume.create"
	VolumeDestroy      = "Volume.destroy"
	VolumeResize       = "Volume.resize"
	VolumeClone        = "Volume.clone"
	VolumeSnapshot     = "Volume.snapshot"
	VolumeStat         = "Volume.stat"
	VolumeLs           = "Volume.ls"
	DatapathAttach     = "Datapath.attach"
	DatapathActivate   = "Datapath.activate"
	DatapathDeactivate = "Datapath.deactivate"
	DatapathDetach     = "Datapath.detach"
)

// ImplementationXenDisk is the Attachment of a volume that blkback opens
// from the VBD's params.
const ImplementationXenDisk = "XenDisk"

// Functions lists every call of the protocol.
var Functions = []string{VolumeCreate, VolumeDestroy, VolumeResize, VolumeClone, VolumeSnapshot, VolumeStat,
	VolumeLs, DatapathAttach, DatapathActivate, DatapathDeactivate, DatapathDetach}

// Volume describes one volume (a VDI) of an SR, as Volume.* calls return it.
type Volume struct {
	// Key identifies the volume within its SR; the plugin chooses it.
	Key         string `json:"key"`
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// ReadWrite is false for a snapshot.
	ReadWrite bool `json:"read_write"`
	// VirtualSize is the size the guest sees, in bytes; PhysicalUtilisation
	// the bytes the volume takes in the SR.
	VirtualSize         uint64 `json:"virtual_size"`
	PhysicalUtilisation uint64 `json:"physical_utilisation"`
	// URI lists where the volume can be reached.
	URI []string `json:"uri"`
	// Keys are the plugin's own facts about the volume (the file plugin
	// puts its datapath state there: KeyAttachedDomain, KeyActive).
	Keys map[string]string `json:"keys,omitempty"`
}

// Keys of Volume.Keys that a plugin may use to show its datapath state.
const (
	KeyAttachedDomain = "attached-domain" // the domain the volume is attached for
	KeyActive         = "active"          // "true" while it is activated
)

// Attachment is what Datapath.attach returns: how the backend reaches the
// volume.
type Attachment struct {
	// Implementation names the kind of backend: ImplementationXenDisk is
	// blkback, to which Params is given as the VBD's params.
	Implementation string            `json:"implementation"`
	Params         string            `json:"params"`
	Extra          map[string]string `json:"extra,omitempty"`
}

// Args are the arguments of a call, sent as a JSON object on stdin. SR is
// always set; the others as the call needs them.
type Args struct {
	SR          string `json:"sr"`
	Key         string `json:"key,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
	Size        uint64 `json:"size,omitempty"`
	// Domain is the frontend domain a Datapath call is for.
	Domain string `json:"domain,omitempty"`
}

// PluginError is the JSON object a failing plugin prints on stdout before
// exiting non-zero.
type PluginError struct {
	// Code is an errdefs kind name ("not_found", "busy", ...) or the
	// plugin's own code.
	Code    string `json:"code"`
	Message string `json:"message"`
}
