package xenstoretest

import (
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

var permTests = []test{
	{"RootPerms", testRootPerms},
	{"RoundTrip", testPermsRoundTrip},
	{"Inherit", testPermsInherit},
	{"SetPermsMissing", testSetPermsMissing},
	{"BadPermStrings", testBadPermStrings},
	{"SpecialPaths", testSpecialPerms},
}

func perms(ss ...string) []xenstore.Perm {
	ps, err := xenstore.ParsePerms(ss)
	if err != nil {
		panic(err)
	}
	return ps
}

func testRootPerms(e *env) {
	c := e.client()
	got, err := c.GetPerms(e.ctx, "/")
	require.NoError(e, err)
	require.Equal(e, perms("n0"), got, "permissions of /")
	// A node dom0 creates at the top inherits them.
	require.NoError(e, c.Write(e.ctx, e.path(), nil))
	got, err = c.GetPerms(e.ctx, e.path())
	require.NoError(e, err)
	require.Equal(e, perms("n0"), got)
}

func testPermsRoundTrip(e *env) {
	c := e.client()
	cases := [][]string{
		{"n0"},
		{"r0"},
		{"w0"},
		{"b0"},
		{"n0", "r5"},
		{"b0", "r5", "w6", "n7", "b8"},
		{"n5", "r7", "w0", "b9"}, // owned by a guest, ACL order kept
		{"r32751"},
		{"n3", "r3"},
	}
	p := e.path("node")
	require.NoError(e, c.Write(e.ctx, p, []byte("v")))
	for _, tc := range cases {
		require.NoError(e, c.SetPerms(e.ctx, p, perms(tc...)), "SET_PERMS %v", tc)
		got, err := c.GetPerms(e.ctx, p)
		require.NoError(e, err)
		require.Equal(e, perms(tc...), got, "GET_PERMS after SET_PERMS %v", tc)
		// The raw reply: NUL-terminated entries, owner first.
		m, err := c.Do(e.ctx, xenstore.Message{Op: xenstore.OpGetPerms, Payload: xenstore.Strings(p)})
		require.NoError(e, err)
		require.Equal(e, string(xenstore.Strings(tc...)), string(m.Payload))
	}
	// The value survives permission changes.
	got, err := c.Read(e.ctx, p)
	require.NoError(e, err)
	require.Equal(e, "v", string(got))
}

func testPermsInherit(e *env) {
	c := e.client()
	parent := e.path("parent")
	want := perms("n0", "r5", "w6")
	require.NoError(e, c.Write(e.ctx, parent, nil))
	require.NoError(e, c.SetPerms(e.ctx, parent, want))
	require.NoError(e, c.Write(e.ctx, parent+"/a/b", []byte("v")))
	require.NoError(e, c.Mkdir(e.ctx, parent+"/m"))
	for _, p := range []string{parent + "/a", parent + "/a/b", parent + "/m"} {
		got, err := c.GetPerms(e.ctx, p)
		require.NoError(e, err, p)
		require.Equal(e, want, got, "permissions of the new node %s", p)
	}
	// A guest-owned parent: dom0's new children keep the guest as owner.
	guest := e.path("guest")
	require.NoError(e, c.Write(e.ctx, guest, nil))
	require.NoError(e, c.SetPerms(e.ctx, guest, perms("b7")))
	require.NoError(e, c.Write(e.ctx, guest+"/x/y", nil))
	got, err := c.GetPerms(e.ctx, guest+"/x/y")
	require.NoError(e, err)
	require.Equal(e, perms("b7"), got)
	// Changing the parent later does not change existing children.
	require.NoError(e, c.SetPerms(e.ctx, parent, perms("n0")))
	got, err = c.GetPerms(e.ctx, parent+"/a")
	require.NoError(e, err)
	require.Equal(e, want, got)
}

func testSetPermsMissing(e *env) {
	c := e.client()
	require.NoError(e, c.Write(e.ctx, e.path(), nil))
	for _, p := range []string{e.path("missing"), e.path("missing/deeper")} {
		err := c.SetPerms(e.ctx, p, perms("n0"))
		requireErrno(e, err, xenstore.ENOENT, p)
		require.True(e, errdefs.IsNotFound(err))
		_, err = c.Read(e.ctx, p)
		requireErrno(e, err, xenstore.ENOENT, "SET_PERMS must not create %s", p)
	}
}

func testBadPermStrings(e *env) {
	c := e.client()
	p := e.path("node")
	require.NoError(e, c.Write(e.ctx, p, nil))
	require.NoError(e, c.SetPerms(e.ctx, p, perms("n0", "r4")))
	cases := []struct {
		name string
		args []string
	}{
		{"no permissions", nil},
		{"empty entry", []string{""}},
		{"bad letter", []string{"x0"}},
		{"upper-case letter", []string{"R5"}},
		{"letter only", []string{"r"}},
		{"two letters", []string{"rr5"}},
		{"trailing garbage", []string{"r5x"}},
		{"bad second entry", []string{"n0", "q5"}},
		{"empty second entry", []string{"n0", ""}},
	}
	for _, tc := range cases {
		err := doErr(e, c, xenstore.OpSetPerms, 0, xenstore.Strings(append([]string{p}, tc.args...)...))
		requireErrno(e, err, xenstore.EINVAL, tc.name)
		require.True(e, errdefs.IsInvalid(err), "%s: IsInvalid(%v)", tc.name, err)
	}
	got, err := c.GetPerms(e.ctx, p)
	require.NoError(e, err)
	require.Equal(e, perms("n0", "r4"), got, "permissions after refused changes")
}

func testSpecialPerms(e *env) {
	c := e.client()
	for _, p := range []string{xenstore.WatchIntroduceDomain, xenstore.WatchReleaseDomain} {
		require.NoError(e, c.SetPerms(e.ctx, p, perms("n0", "r5")), "SET_PERMS %s", p)
		require.NoError(e, c.SetPerms(e.ctx, p, perms("n0")), "SET_PERMS %s", p)
	}
}
