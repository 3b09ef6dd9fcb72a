package xenstoretest

import (
	"strconv"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

var domainTests = []test{
	{"GetDomainPath", testGetDomainPath},
	{"IntroduceRelease", testIntroduceRelease},
	{"ReleaseUnknown", testReleaseUnknown},
	{"IntroduceBadArgs", testIntroduceBadArgs},
	{"ReleaseRemovesOwnedNodes", testReleaseRemovesOwned},
	{"SetTarget", testSetTarget},
	{"Resume", testResume},
}

// introduce introduces domid for the test and releases it afterwards.
func introduce(e *env, c *xenstore.Client, domid uint32) {
	e.Helper()
	require.NoError(e, c.Introduce(e.ctx, domid, 100+uint64(domid), 5), "INTRODUCE %d", domid)
	e.Cleanup(func() { releaseQuietly(e, strconv.Itoa(int(domid))) })
}

func testGetDomainPath(e *env) {
	c := e.client()
	for _, d := range []uint32{0, 1, 7, 32752, 65535} {
		got, err := c.GetDomainPath(e.ctx, d)
		require.NoError(e, err)
		require.Equal(e, "/local/domain/"+strconv.Itoa(int(d)), got)
	}
	// The raw reply is one NUL-terminated string.
	m, err := c.Do(e.ctx, xenstore.Message{Op: xenstore.OpGetDomainPath, Payload: xenstore.Strings("12")})
	require.NoError(e, err)
	require.Equal(e, "/local/domain/12\x00", string(m.Payload))
}

func testIntroduceRelease(e *env) {
	c := e.client()
	const d = 11
	isIn := func() bool {
		e.Helper()
		ok, err := c.IsDomainIntroduced(e.ctx, d)
		require.NoError(e, err)
		return ok
	}
	ok, err := c.IsDomainIntroduced(e.ctx, 0)
	require.NoError(e, err)
	require.True(e, ok, "dom0 is always introduced")

	require.False(e, isIn())
	introduce(e, c, d)
	require.True(e, isIn())
	// Introducing again (same or another ring) is accepted.
	require.NoError(e, c.Introduce(e.ctx, d, 100+d, 5))
	require.NoError(e, c.Introduce(e.ctx, d, 200+d, 6))
	require.True(e, isIn())
	require.NoError(e, c.Release(e.ctx, d))
	require.False(e, isIn())
	err = c.Release(e.ctx, d)
	requireErrno(e, err, xenstore.ENOENT, "RELEASE of a released domain")
	// And again from scratch.
	introduce(e, c, d)
	require.True(e, isIn())
	require.NoError(e, c.Release(e.ctx, d))
	require.False(e, isIn())
}

func testReleaseUnknown(e *env) {
	c := e.client()
	err := c.Release(e.ctx, 12)
	requireErrno(e, err, xenstore.ENOENT, "RELEASE of a domain never introduced")
	require.True(e, errdefs.IsNotFound(err))
	err = c.Release(e.ctx, 0)
	requireErrno(e, err, xenstore.EINVAL, "RELEASE of dom0")
	err = doErr(e, c, xenstore.OpRelease, 0, xenstore.Strings("x"))
	requireErrno(e, err, xenstore.EINVAL, "RELEASE x")
}

func testIntroduceBadArgs(e *env) {
	c := e.client()
	for _, args := range [][]string{{"13", "100"}, {"13"}, {""}} {
		err := doErr(e, c, xenstore.OpIntroduce, 0, xenstore.Strings(args...))
		requireErrno(e, err, xenstore.EINVAL, "INTRODUCE %q", args)
	}
	ok, err := c.IsDomainIntroduced(e.ctx, 13)
	require.NoError(e, err)
	require.False(e, ok)
}

func testReleaseRemovesOwned(e *env) {
	c := e.client()
	const d = 14
	introduce(e, c, d)
	owned, acl := e.path("owned"), e.path("acl")
	require.NoError(e, c.Write(e.ctx, owned, []byte("v")))
	require.NoError(e, c.SetPerms(e.ctx, owned, perms("b14")))
	require.NoError(e, c.Write(e.ctx, owned+"/child", []byte("v"))) // inherits b14
	require.NoError(e, c.Write(e.ctx, acl, []byte("v")))
	require.NoError(e, c.SetPerms(e.ctx, acl, perms("n0", "b14")))
	require.NoError(e, c.Release(e.ctx, d))
	for _, p := range []string{owned, owned + "/child"} {
		_, err := c.Read(e.ctx, p)
		requireErrno(e, err, xenstore.ENOENT, "%s, owned by the released domain", p)
	}
	got, err := c.Read(e.ctx, acl)
	require.NoError(e, err, "a node the domain is only listed in stays")
	require.Equal(e, "v", string(got))
}

func testSetTarget(e *env) {
	c := e.client()
	introduce(e, c, 15)
	introduce(e, c, 16)
	require.NoError(e, c.SetTarget(e.ctx, 15, 16))
	require.NoError(e, c.SetTarget(e.ctx, 15, 16), "again")
	// Either domain unknown: ENOENT.
	err := c.SetTarget(e.ctx, 17, 16)
	requireErrno(e, err, xenstore.ENOENT, "SET_TARGET of a domain not introduced")
	err = c.SetTarget(e.ctx, 15, 17)
	requireErrno(e, err, xenstore.ENOENT, "SET_TARGET to a domain not introduced")
	err = doErr(e, c, xenstore.OpSetTarget, 0, xenstore.Strings("15"))
	requireErrno(e, err, xenstore.EINVAL, "SET_TARGET with one argument")
}

func testResume(e *env) {
	c := e.client()
	introduce(e, c, 18)
	require.NoError(e, c.Resume(e.ctx, 18))
	err := c.Resume(e.ctx, 19)
	requireErrno(e, err, xenstore.ENOENT, "RESUME of a domain not introduced")
}
