package fileplugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/xenactor/xenactor/hostio/storage"
	"github.com/xenactor/xenactor/internal/errdefs"
)

// attachState is a volume's <key>.attach.
type attachState struct {
	Domain string `json:"domain"`
	Active bool   `json:"active"`
}

func (s *SR) readAttach(key string) (attachState, bool, error) {
	var a attachState
	b, err := os.ReadFile(s.path(key, ".attach"))
	if errors.Is(err, fs.ErrNotExist) {
		return a, false, nil
	} else if err != nil {
		return a, false, fsError("read the datapath of", key, err)
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, false, fmt.Errorf("volume %s: corrupt datapath state: %v: %w", key, err, errdefs.ErrUnavailable)
	}
	return a, true, nil
}

// datapath runs f on volume key's datapath state under its lock, after
// checking the key, the domain and that the volume exists.
func (s *SR) datapath(key, domain string, f func(a attachState, attached bool) error) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if domain == "" {
		return fmt.Errorf("volume %s: no domain: %w", key, errdefs.ErrInvalid)
	}
	unlock, err := s.lock(key, false)
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := s.readMeta(key); err != nil {
		return err
	}
	a, ok, err := s.readAttach(key)
	if err != nil {
		return err
	}
	return f(a, ok)
}

// attachedFor checks that the volume is attached for domain.
func attachedFor(key, domain string, a attachState, attached bool) error {
	switch {
	case !attached:
		return fmt.Errorf("volume %s is not attached: %w", key, errdefs.ErrNotFound)
	case a.Domain != domain:
		return fmt.Errorf("volume %s is attached to domain %s, not %s: %w", key, a.Domain, domain,
			errdefs.ErrNotFound)
	}
	return nil
}

// Attach records volume key as attached for domain and returns its image
// as blkback's params.
func (s *SR) Attach(key, domain string) (storage.Attachment, error) {
	err := s.datapath(key, domain, func(a attachState, attached bool) error {
		switch {
		case attached && a.Domain == domain:
			return fmt.Errorf("volume %s is already attached to domain %s: %w", key, domain, errdefs.ErrExists)
		case attached:
			return fmt.Errorf("volume %s is attached to domain %s: %w", key, a.Domain, errdefs.ErrBusy)
		}
		return s.writeAttach(key, attachState{Domain: domain})
	})
	if err != nil {
		return storage.Attachment{}, err
	}
	return storage.Attachment{Implementation: storage.ImplementationXenDisk, Params: s.ImagePath(key)}, nil
}

// Activate marks the volume attached for domain active.
func (s *SR) Activate(key, domain string) error {
	return s.datapath(key, domain, func(a attachState, attached bool) error {
		if err := attachedFor(key, domain, a, attached); err != nil {
			return err
		}
		if a.Active {
			return fmt.Errorf("volume %s is already active: %w", key, errdefs.ErrExists)
		}
		a.Active = true
		return s.writeAttach(key, a)
	})
}

// Deactivate marks the active volume attached for domain inactive.
func (s *SR) Deactivate(key, domain string) error {
	return s.datapath(key, domain, func(a attachState, attached bool) error {
		if err := attachedFor(key, domain, a, attached); err != nil {
			return err
		}
		if !a.Active {
			return fmt.Errorf("volume %s is not active: %w", key, errdefs.ErrNotFound)
		}
		a.Active = false
		return s.writeAttach(key, a)
	})
}

// Detach forgets the inactive volume's attachment for domain.
func (s *SR) Detach(key, domain string) error {
	return s.datapath(key, domain, func(a attachState, attached bool) error {
		if err := attachedFor(key, domain, a, attached); err != nil {
			return err
		}
		if a.Active {
			return fmt.Errorf("volume %s is active: deactivate it first: %w", key, errdefs.ErrBusy)
		}
		if err := os.Remove(s.path(key, ".attach")); err != nil {
			return fsError("detach", key, err)
		}
		return nil
	})
}

func (s *SR) writeAttach(key string, a attachState) error {
	if err := s.writeJSON(key, ".attach", a); err != nil {
		return fsError("write the datapath of", key, err)
	}
	return nil
}
