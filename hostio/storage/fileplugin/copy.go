package fileplugin

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// The whence values of lseek(2) that find data and holes.
const (
	seekData = 3
	seekHole = 4
)

// copySparse copies size bytes of src into a new file dst, only the data
// extents (SEEK_DATA/SEEK_HOLE), so the holes stay holes. Where the file
// system cannot tell the extents, it copies everything.
func copySparse(dst, src string, size int64) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	if err := out.Truncate(size); err != nil {
		return err
	}
	for off := int64(0); off < size; {
		start, err := in.Seek(off, seekData)
		if errors.Is(err, syscall.ENXIO) {
			return nil // only a hole is left
		} else if errors.Is(err, syscall.EINVAL) {
			return copyRange(out, in, off, size-off)
		} else if err != nil {
			return err
		}
		end, err := in.Seek(start, seekHole)
		if err != nil {
			return err
		}
		end = min(end, size)
		if start >= end {
			return nil
		}
		if err := copyRange(out, in, start, end-start); err != nil {
			return err
		}
		off = end
	}
	return nil
}

// copyRange copies n bytes at off from in to out.
func copyRange(out, in *os.File, off, n int64) error {
	if _, err := in.Seek(off, io.SeekStart); err != nil {
		return err
	}
	if _, err := out.Seek(off, io.SeekStart); err != nil {
		return err
	}
	_, err := io.CopyN(out, in, n)
	if errors.Is(err, io.EOF) {
		return nil // the file is shorter than its metadata says
	}
	return err
}
