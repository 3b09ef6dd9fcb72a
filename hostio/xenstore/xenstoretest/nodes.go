package xenstoretest

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

var nodeTests = []test{
	{"WriteRead", testWriteRead},
	{"WriteCreatesParents", testWriteCreatesParents},
	{"Mkdir", testMkdir},
	{"DirectoryOrder", testDirectoryOrder},
	{"DirectoryLarge", testDirectoryLarge},
	{"DirectoryPartFormat", testDirectoryPartFormat},
	{"DirectoryPartGeneration", testDirectoryPartGeneration},
	{"Rm", testRm},
	{"ReadMissing", testReadMissing},
	{"InvalidPaths", testInvalidPaths},
	{"PathLength", testPathLength},
	{"RelativePathOnSocket", testRelativePathOnSocket},
}

func testWriteRead(e *env) {
	c := e.client()
	cases := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"text", []byte("hello")},
		{"nuls", []byte("\x00a\x00\x00b\x00")},
		{"binary", values(256)},
		{"2048 bytes", values(2048)},
		// Node-size quotas do not apply to dom0.
		{"3000 bytes", values(3000)},
	}
	for _, tc := range cases {
		p := e.path(sanitize(tc.name))
		require.NoError(e, c.Write(e.ctx, p, tc.value), tc.name)
		got, err := c.Read(e.ctx, p)
		require.NoError(e, err, tc.name)
		require.True(e, bytes.Equal(tc.value, got), "%s: read back %d bytes %q, wrote %d", tc.name, len(got), trunc(got), len(tc.value))
	}

	// A value filling the whole 4096-byte payload.
	p := e.path("full")
	full := values(xenstore.PayloadMax - len(p) - 1)
	require.NoError(e, c.Write(e.ctx, p, full))
	got, err := c.Read(e.ctx, p)
	require.NoError(e, err)
	require.True(e, bytes.Equal(full, got), "full payload: read back %d bytes", len(got))

	// Overwriting replaces the whole value, shorter or longer.
	p = e.path("overwrite")
	for _, v := range []string{"a long first value", "short", "", "x"} {
		require.NoError(e, c.Write(e.ctx, p, []byte(v)))
		got, err := c.Read(e.ctx, p)
		require.NoError(e, err)
		require.Equal(e, v, string(got))
	}

	// Another connection sees the value.
	other := e.client()
	got, err = other.Read(e.ctx, e.path("text"))
	require.NoError(e, err)
	require.Equal(e, "hello", string(got))
}

func trunc(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

func testWriteCreatesParents(e *env) {
	c := e.client()
	require.NoError(e, c.Write(e.ctx, e.path("a/b/c"), []byte("v")))
	for _, p := range []string{e.path(), e.path("a"), e.path("a/b")} {
		got, err := c.Read(e.ctx, p)
		require.NoError(e, err, p)
		require.Empty(e, got, "value of the created parent %s", p)
	}
	for p, want := range map[string][]string{
		e.path():        {"a"},
		e.path("a"):     {"b"},
		e.path("a/b"):   {"c"},
		e.path("a/b/c"): nil,
	} {
		kids, err := c.Directory(e.ctx, p)
		require.NoError(e, err, p)
		require.Equal(e, want, kids, "children of %s", p)
	}
	// Writing below an existing node leaves the node's value alone.
	require.NoError(e, c.Write(e.ctx, e.path("a/b/c/d/e"), []byte("w")))
	got, err := c.Read(e.ctx, e.path("a/b/c"))
	require.NoError(e, err)
	require.Equal(e, "v", string(got))
}

func testMkdir(e *env) {
	c := e.client()
	// A new node (and its missing parents) with an empty value.
	require.NoError(e, c.Mkdir(e.ctx, e.path("new/dir")))
	for _, p := range []string{e.path("new"), e.path("new/dir")} {
		got, err := c.Read(e.ctx, p)
		require.NoError(e, err, p)
		require.Empty(e, got, p)
	}
	// An existing node is left untouched: value and children.
	p := e.path("existing")
	require.NoError(e, c.Write(e.ctx, p, []byte("keep")))
	require.NoError(e, c.Write(e.ctx, p+"/child", []byte("c")))
	require.NoError(e, c.Mkdir(e.ctx, p))
	got, err := c.Read(e.ctx, p)
	require.NoError(e, err)
	require.Equal(e, "keep", string(got))
	kids, err := c.Directory(e.ctx, p)
	require.NoError(e, err)
	require.Equal(e, []string{"child"}, kids)
	got, err = c.Read(e.ctx, p+"/child")
	require.NoError(e, err)
	require.Equal(e, "c", string(got))
}

func testDirectoryOrder(e *env) {
	c := e.client()
	for _, n := range []string{"c", "a", "b", "zz", "0"} {
		require.NoError(e, c.Write(e.ctx, e.path(n), nil))
	}
	kids, err := c.Directory(e.ctx, e.path())
	require.NoError(e, err)
	require.Equal(e, []string{"c", "a", "b", "zz", "0"}, kids, "children in creation order")

	// Rewriting keeps the place; removing and creating again moves to the end.
	require.NoError(e, c.Write(e.ctx, e.path("c"), []byte("v")))
	require.NoError(e, c.Rm(e.ctx, e.path("a")))
	require.NoError(e, c.Write(e.ctx, e.path("a"), nil))
	kids, err = c.Directory(e.ctx, e.path())
	require.NoError(e, err)
	require.Equal(e, []string{"c", "b", "zz", "0", "a"}, kids)

	// The raw reply: each name NUL-terminated; a leaf gives an empty payload.
	m, err := c.Do(e.ctx, xenstore.Message{Op: xenstore.OpDirectory, Payload: xenstore.Strings(e.path())})
	require.NoError(e, err)
	require.Equal(e, "c\x00b\x00zz\x000\x00a\x00", string(m.Payload))
	m, err = c.Do(e.ctx, xenstore.Message{Op: xenstore.OpDirectory, Payload: xenstore.Strings(e.path("zz"))})
	require.NoError(e, err)
	require.Empty(e, m.Payload, "DIRECTORY of a leaf")

	_, err = c.Directory(e.ctx, e.path("missing"))
	requireErrno(e, err, xenstore.ENOENT)
}

// manyChildren creates n children with long names under p and returns
// their names in creation order.
func manyChildren(e *env, c *xenstore.Client, p string, n int) []string {
	e.Helper()
	names := make([]string, n)
	for i := range names {
		names[i] = strings.Repeat("n", 60) + strconv.Itoa(1000+i)
		require.NoError(e, c.Write(e.ctx, p+"/"+names[i], nil))
	}
	return names
}

func testDirectoryLarge(e *env) {
	c := e.client()
	names := manyChildren(e, c, e.path(), 100) // 6500 bytes of names
	// Both daemons refuse a DIRECTORY reply over 4096 bytes with E2BIG.
	err := doErr(e, c, xenstore.OpDirectory, 0, xenstore.Strings(e.path()))
	requireErrno(e, err, xenstore.E2BIG, "DIRECTORY with %d bytes of names", len(xenstore.Strings(names...)))
	require.True(e, errdefs.IsResourceExhausted(err), "E2BIG maps onto ErrResourceExhausted: %v", err)

	// The client falls back to DIRECTORY_PART.
	kids, err := c.Directory(e.ctx, e.path())
	require.NoError(e, err)
	require.Equal(e, names, kids)
	kids, err = c.DirectoryPart(e.ctx, e.path())
	require.NoError(e, err)
	require.Equal(e, names, kids)

	// Raw parts: whole names, each part within the payload limit, the
	// last one ending with the empty-name end marker.
	var all []string
	var gen string
	off := 0
	for part := 0; ; part++ {
		require.Less(e, part, 10, "too many parts")
		m, err := c.Do(e.ctx, xenstore.Message{Op: xenstore.OpDirectoryPart,
			Payload: xenstore.Strings(e.path(), strconv.Itoa(off))})
		require.NoError(e, err)
		require.LessOrEqual(e, len(m.Payload), xenstore.PayloadMax)
		g, rest, ok := bytes.Cut(m.Payload, []byte{0})
		require.True(e, ok, "part %q has no generation", trunc(m.Payload))
		if part == 0 {
			gen = string(g)
		}
		require.Equal(e, gen, string(g), "generation of part %d", part)
		last := bytes.HasSuffix(rest, []byte{0, 0}) || len(rest) == 1
		if last {
			rest = rest[:len(rest)-1]
		}
		require.True(e, len(rest) == 0 || rest[len(rest)-1] == 0, "part %d ends inside a name", part)
		for _, n := range xenstore.SplitStrings(rest) {
			all = append(all, n)
			off += len(n) + 1
		}
		if last {
			break
		}
		require.NotEmpty(e, rest, "part %d is empty but not the last", part)
	}
	require.Equal(e, names, all)
}

// dirPart sends DIRECTORY_PART and splits the reply into its generation
// and the rest.
func dirPart(e *env, c *xenstore.Client, p string, off int) (gen uint64, rest string) {
	e.Helper()
	m, err := c.Do(e.ctx, xenstore.Message{Op: xenstore.OpDirectoryPart, Payload: xenstore.Strings(p, strconv.Itoa(off))})
	require.NoError(e, err)
	g, r, ok := strings.Cut(string(m.Payload), "\x00")
	require.True(e, ok, "DIRECTORY_PART reply %q has no generation", m.Payload)
	gen, err = strconv.ParseUint(g, 10, 64)
	require.NoError(e, err, "generation %q", g)
	return gen, r
}

func testDirectoryPartFormat(e *env) {
	c := e.client()
	for _, n := range []string{"c", "a", "bb"} {
		require.NoError(e, c.Write(e.ctx, e.path(n), nil))
	}
	// "c\0a\0bb\0" is 7 bytes; offsets count bytes of that list.
	cases := []struct {
		off  int
		want string
	}{
		{0, "c\x00a\x00bb\x00\x00"},
		{2, "a\x00bb\x00\x00"},
		{4, "bb\x00\x00"},
		{7, "\x00"},
		{100, "\x00"},
	}
	for _, tc := range cases {
		_, rest := dirPart(e, c, e.path(), tc.off)
		require.Equal(e, tc.want, rest, "offset %d", tc.off)
	}
	// A leaf: just the end marker.
	_, rest := dirPart(e, c, e.path("c"), 0)
	require.Equal(e, "\x00", rest)

	err := doErr(e, c, xenstore.OpDirectoryPart, 0, xenstore.Strings(e.path()))
	requireErrno(e, err, xenstore.EINVAL, "DIRECTORY_PART without an offset")
	err = doErr(e, c, xenstore.OpDirectoryPart, 0, xenstore.Strings(e.path("missing"), "0"))
	requireErrno(e, err, xenstore.ENOENT)
}

func testDirectoryPartGeneration(e *env) {
	c := e.client()
	p := e.path("node")
	require.NoError(e, c.Write(e.ctx, p+"/a", nil))
	gen0, _ := dirPart(e, c, p, 0)
	gen, _ := dirPart(e, c, p, 0)
	require.Equal(e, gen0, gen, "generation without a change")

	// A grandchild changing leaves the node alone.
	require.NoError(e, c.Write(e.ctx, p+"/a/deeper", []byte("x")))
	gen, _ = dirPart(e, c, p, 0)
	require.Equal(e, gen0, gen, "generation after a grandchild was created")

	steps := []struct {
		what string
		do   func() error
	}{
		{"a child was added", func() error { return c.Write(e.ctx, p+"/b", nil) }},
		{"a child was removed", func() error { return c.Rm(e.ctx, p+"/b") }},
		{"the node's value was written", func() error { return c.Write(e.ctx, p, []byte("v")) }},
	}
	prev := gen0
	for _, s := range steps {
		require.NoError(e, s.do(), s.what)
		gen, _ = dirPart(e, c, p, 0)
		require.NotEqual(e, prev, gen, "generation unchanged after %s", s.what)
		prev = gen
	}
}

func testRm(e *env) {
	c := e.client()
	for _, p := range []string{"keep", "tree/a/b", "tree/a/c", "tree/d"} {
		require.NoError(e, c.Write(e.ctx, e.path(p), []byte(p)))
	}
	require.NoError(e, c.Rm(e.ctx, e.path("tree")))
	for _, p := range []string{"tree", "tree/a", "tree/a/b", "tree/a/c", "tree/d"} {
		_, err := c.Read(e.ctx, e.path(p))
		requireErrno(e, err, xenstore.ENOENT, "after rm, %s", p)
	}
	kids, err := c.Directory(e.ctx, e.path())
	require.NoError(e, err)
	require.Equal(e, []string{"keep"}, kids)

	// Removing a missing node whose parent exists is fine.
	require.NoError(e, c.Rm(e.ctx, e.path("tree")))
	require.NoError(e, c.Rm(e.ctx, e.path("never")))
	// Its parent missing too: ENOENT.
	err = c.Rm(e.ctx, e.path("never/deeper"))
	requireErrno(e, err, xenstore.ENOENT)
	require.True(e, errdefs.IsNotFound(err))

	// The root cannot be removed.
	err = doErr(e, c, xenstore.OpRm, 0, xenstore.Strings("/"))
	requireErrno(e, err, xenstore.EINVAL, "RM /")

	// A node can be created again after removal.
	require.NoError(e, c.Write(e.ctx, e.path("tree/a"), []byte("again")))
	got, err := c.Read(e.ctx, e.path("tree/a"))
	require.NoError(e, err)
	require.Equal(e, "again", string(got))
	kids, err = c.Directory(e.ctx, e.path("tree"))
	require.NoError(e, err)
	require.Equal(e, []string{"a"}, kids, "children of a re-created node")
}

func testReadMissing(e *env) {
	c := e.client()
	for _, p := range []string{e.path("missing"), e.path("missing/deeper")} {
		_, err := c.Read(e.ctx, p)
		requireErrno(e, err, xenstore.ENOENT, p)
		require.True(e, errdefs.IsNotFound(err), "IsNotFound(%v)", err)
		ok, err := c.Exists(e.ctx, p)
		require.NoError(e, err)
		require.False(e, ok)
		_, err = c.GetPerms(e.ctx, p)
		requireErrno(e, err, xenstore.ENOENT, "GET_PERMS %s", p)
	}
	require.NoError(e, c.Write(e.ctx, e.path("here"), nil))
	ok, err := c.Exists(e.ctx, e.path("here"))
	require.NoError(e, err)
	require.True(e, ok)
}

// pathRequests returns raw requests of every path-taking op for path p.
func pathRequests(p string) map[xenstore.Op][]byte {
	return map[xenstore.Op][]byte{
		xenstore.OpRead:          xenstore.Strings(p),
		xenstore.OpWrite:         append(xenstore.Strings(p), "v"...),
		xenstore.OpMkdir:         xenstore.Strings(p),
		xenstore.OpRm:            xenstore.Strings(p),
		xenstore.OpDirectory:     xenstore.Strings(p),
		xenstore.OpDirectoryPart: xenstore.Strings(p, "0"),
		xenstore.OpGetPerms:      xenstore.Strings(p),
		xenstore.OpSetPerms:      xenstore.Strings(p, "n0"),
		xenstore.OpWatch:         xenstore.Strings(p, "tok"),
	}
}

func testInvalidPaths(e *env) {
	c := e.client()
	require.NoError(e, c.Write(e.ctx, e.path("a"), nil))
	bad := []string{
		"",
		e.prefix + "//a",
		e.prefix + "/a/",
		e.prefix + "/",
		"//",
		e.prefix + "/a b",
		e.prefix + "/a.b",
		e.prefix + "/a*b",
		e.prefix + "/a\tb",
		e.prefix + "/a\xc3\xa9",
		"/" + strings.Repeat("a", 3100),
	}
	for _, p := range bad {
		for op, payload := range pathRequests(p) {
			err := doErr(e, c, op, 0, payload)
			requireErrno(e, err, xenstore.EINVAL, "%s %q", op, trunc([]byte(p)))
			require.True(e, errdefs.IsInvalid(err), "IsInvalid(%v)", err)
		}
	}
	// READ is not for special paths.
	for _, p := range []string{"@", xenstore.WatchIntroduceDomain} {
		err := doErr(e, c, xenstore.OpRead, 0, xenstore.Strings(p))
		requireErrno(e, err, xenstore.EINVAL, "READ %s", p)
	}
	// The client refuses them without asking.
	for _, p := range bad[:5] {
		_, err := c.Read(e.ctx, p)
		require.True(e, errdefs.IsInvalid(err), "Read(%q) = %v", p, err)
	}
	// Every legal character.
	p := e.path("AZaz09-_@x")
	require.NoError(e, c.Write(e.ctx, p, []byte("v")))
	got, err := c.Read(e.ctx, p)
	require.NoError(e, err)
	require.Equal(e, "v", string(got))
	// The connection is still fine.
	_, err = c.Read(e.ctx, e.path("a"))
	require.NoError(e, err)
}

// testPathLength checks C xenstored's limit: the part of a path after
// /local/domain/<domid>/ (all of it, for other paths) may be at most
// XENSTORE_REL_PATH_MAX (2048) bytes, for dom0 too.
func testPathLength(e *env) {
	c := e.client()
	cases := []struct {
		path string
		ok   bool
	}{
		{"/" + strings.Repeat("a", 2047), true},
		{"/" + strings.Repeat("a", 2048), false},
		{"/local/domain/5/" + strings.Repeat("a", 2048), true},
		{"/local/domain/5/" + strings.Repeat("a", 2049), false},
	}
	for _, tc := range cases {
		_, err := c.Do(e.ctx, xenstore.Message{Op: xenstore.OpRead, Payload: xenstore.Strings(tc.path)})
		if tc.ok {
			requireErrno(e, err, xenstore.ENOENT, "READ of a %d-byte path", len(tc.path))
		} else {
			requireErrno(e, err, xenstore.EINVAL, "READ of a %d-byte path", len(tc.path))
		}
	}
}

// testRelativePathOnSocket checks that a socket connection is dom0 for
// relative paths: they resolve against GET_DOMAIN_PATH 0.
func testRelativePathOnSocket(e *env) {
	c := e.client()
	home, err := c.GetDomainPath(e.ctx, 0)
	require.NoError(e, err)
	require.Equal(e, "/local/domain/0", home)
	rel := "xenstoretest-" + sanitize(e.prefix[len("/test/"):])
	require.NoError(e, c.Write(e.ctx, rel+"/x", []byte("relative")), "WRITE %s/x", rel)
	got, err := c.Read(e.ctx, home+"/"+rel+"/x")
	require.NoError(e, err)
	require.Equal(e, "relative", string(got))
	got, err = c.Read(e.ctx, rel+"/x")
	require.NoError(e, err)
	require.Equal(e, "relative", string(got))
	require.NoError(e, c.Rm(e.ctx, rel))
	_, err = c.Read(e.ctx, home+"/"+rel)
	requireErrno(e, err, xenstore.ENOENT)
}
