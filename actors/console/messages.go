package console

// GetConsoles asks the console daemon which domains it serves; it answers
// *Consoles.
type GetConsoles struct{}

// Consoles answers GetConsoles: the pty of each domain served, by domid
// ("" when the daemon runs without ptys or the pty is not open yet).
type Consoles struct {
	TTYs map[uint32]string
}

// domainEvent is a watch event: domain DomID, or every domain when All.
type domainEvent struct {
	DomID      uint32
	All        bool
	Introduced bool // from @introduceDomain
}

// connLost is the daemon's xenstore connection gone.
type connLost struct{ err error }

// pollDue makes a domain's actor poll its ring now.
type pollDue struct{}

// ttyOpened tells the daemon a domain actor's pty.
type ttyOpened struct {
	DomID uint32
	TTY   string
}
