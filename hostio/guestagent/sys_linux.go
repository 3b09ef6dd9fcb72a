package guestagent

import "syscall"

// sysUname calls uname(2).
func sysUname() (Uname, error) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return Uname{}, err
	}
	return Uname{Sysname: cstr(u.Sysname[:]), Nodename: cstr(u.Nodename[:]), Release: cstr(u.Release[:])}, nil
}

// cstr returns the NUL-terminated string in b.
func cstr[T int8 | uint8](b []T) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// sysStatfs calls statfs(2) on path: the file system's size and the bytes
// free to unprivileged users.
func sysStatfs(path string) (sizeBytes, freeBytes uint64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, 0, err
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}
