package xenstore

import (
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

// TestOpPayloads checks what each operation puts on the wire and how it
// reads the reply.
func TestOpPayloads(t *testing.T) {
	replies := map[Op]string{
		OpRead:               "raw\x00value",
		OpGetDomainPath:      "/local/domain/5\x00",
		OpIsDomainIntroduced: "T\x00",
		OpGetQuota:           "1000\x00",
		OpControl:            "log on\x00",
		OpGetPerms:           "n0\x00r5\x00",
		OpDirectory:          "a\x00bb\x00",
	}
	c, f := newFake(t, func(f *fake, m Message) {
		if r, ok := replies[m.Op]; ok {
			f.reply(m, []byte(r))
			return
		}
		f.ok(m)
	})
	ctx := testCtx(t)

	v, err := c.Read(ctx, "/r")
	require.NoError(t, err)
	require.Equal(t, "raw\x00value", string(v))
	require.NoError(t, c.Write(ctx, "/w", []byte("val")))
	require.NoError(t, c.Mkdir(ctx, "/m"))
	require.NoError(t, c.Rm(ctx, "/rm"))
	names, err := c.Directory(ctx, "/d")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "bb"}, names)
	perms, err := c.GetPerms(ctx, "/p")
	require.NoError(t, err)
	require.Equal(t, []Perm{{0, AccessNone}, {5, AccessRead}}, perms)
	require.NoError(t, c.SetPerms(ctx, "/p", []Perm{{1, AccessBoth}, {7, AccessWrite}}))
	require.True(t, errdefs.IsInvalid(c.SetPerms(ctx, "/p", nil)))

	require.NoError(t, c.Introduce(ctx, 5, 0xfeffc, 3))
	require.NoError(t, c.Release(ctx, 5))
	dp, err := c.GetDomainPath(ctx, 5)
	require.NoError(t, err)
	require.Equal(t, "/local/domain/5", dp)
	in, err := c.IsDomainIntroduced(ctx, 5)
	require.NoError(t, err)
	require.True(t, in)
	require.NoError(t, c.Resume(ctx, 5))
	require.NoError(t, c.SetTarget(ctx, 6, 5))
	q, err := c.GetQuota(ctx, "nodes")
	require.NoError(t, err)
	require.Equal(t, uint64(1000), q)
	q, err = c.GetDomainQuota(ctx, 5, "nodes")
	require.NoError(t, err)
	require.Equal(t, uint64(1000), q)
	require.NoError(t, c.SetQuota(ctx, "nodes", 9))
	require.NoError(t, c.SetDomainQuota(ctx, 5, "nodes", 9))
	out, err := c.Control(ctx, "log", "on")
	require.NoError(t, err)
	require.Equal(t, "log on", out)
	require.NoError(t, c.ResetWatches(ctx))

	want := []struct {
		op      Op
		payload string
	}{
		{OpRead, "/r\x00"},
		{OpWrite, "/w\x00val"},
		{OpMkdir, "/m\x00"},
		{OpRm, "/rm\x00"},
		{OpDirectory, "/d\x00"},
		{OpGetPerms, "/p\x00"},
		{OpSetPerms, "/p\x00b1\x00w7\x00"},
		{OpIntroduce, "5\x001044476\x003\x00"},
		{OpRelease, "5\x00"},
		{OpGetDomainPath, "5\x00"},
		{OpIsDomainIntroduced, "5\x00"},
		{OpResume, "5\x00"},
		{OpSetTarget, "6\x005\x00"},
		{OpGetQuota, "nodes\x00"},
		{OpGetQuota, "5\x00nodes\x00"},
		{OpSetQuota, "nodes\x009\x00"},
		{OpSetQuota, "5\x00nodes\x009\x00"},
		{OpControl, "log\x00on\x00"},
		{OpResetWatches, "\x00"},
	}
	reqs := f.requests()
	require.Len(t, reqs, len(want))
	for i, w := range want {
		require.Equal(t, w.op, reqs[i].Op, "request %d", i)
		require.Equal(t, w.payload, string(reqs[i].Payload), "request %d (%s)", i, w.op)
		require.Zero(t, reqs[i].TxID)
	}
}

func TestDirectoryEmpty(t *testing.T) {
	for _, payload := range []string{"", "\x00"} {
		c, _ := newFake(t, func(f *fake, m Message) { f.reply(m, []byte(payload)) })
		names, err := c.Directory(testCtx(t), "/empty")
		require.NoError(t, err)
		require.Empty(t, names)
	}
}

// dirPartServer serves DIRECTORY_PART from a child list, at most per names
// per reply, the way C xenstored lays replies out.
type dirPartServer struct {
	mu       sync.Mutex
	gen      int
	children []string
	per      int
	offsets  []int
	onPart   func(s *dirPartServer) // after each reply, under mu
}

func (s *dirPartServer) handle(f *fake, m Message) {
	if m.Op == OpDirectory {
		f.fail(m, E2BIG)
		return
	}
	args := SplitStrings(m.Payload)
	off, _ := strconv.Atoi(args[1])
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offsets = append(s.offsets, off)
	list := strings.Join(s.children, "\x00") + "\x00"
	out := strconv.Itoa(s.gen) + "\x00"
	rest := list[min(off, len(list)):]
	for i := 0; i < s.per && rest != ""; i++ {
		j := strings.IndexByte(rest, 0)
		out += rest[:j+1]
		rest = rest[j+1:]
	}
	if rest == "" {
		out += "\x00"
	}
	f.reply(m, []byte(out))
	if s.onPart != nil {
		s.onPart(s)
	}
}

func TestDirectoryPart(t *testing.T) {
	s := &dirPartServer{gen: 7, children: []string{"aa", "b", "ccc", "dd", "e"}, per: 2}
	c, _ := newFake(t, s.handle)
	names, err := c.DirectoryPart(testCtx(t), "/d")
	require.NoError(t, err)
	require.Equal(t, s.children, names)
	require.Equal(t, []int{0, 5, 12}, s.offsets)

	// Directory falls back to the loop on E2BIG.
	s.offsets = nil
	names, err = c.Directory(testCtx(t), "/d")
	require.NoError(t, err)
	require.Equal(t, s.children, names)
	require.Equal(t, []int{0, 5, 12}, s.offsets)

	// An empty directory: just the generation and the end marker.
	s.children, s.offsets = nil, nil
	names, err = c.DirectoryPart(testCtx(t), "/d")
	require.NoError(t, err)
	require.Empty(t, names)
	require.Equal(t, []int{0}, s.offsets)
}

func TestDirectoryPartGenerationChange(t *testing.T) {
	s := &dirPartServer{gen: 1, children: []string{"aa", "b", "ccc", "dd"}, per: 2}
	s.onPart = func(s *dirPartServer) {
		if s.gen == 1 && len(s.offsets) == 1 { // a child appears after part one
			s.gen = 2
			s.children = append(s.children, "new")
		}
	}
	c, _ := newFake(t, s.handle)
	names, err := c.DirectoryPart(testCtx(t), "/d")
	require.NoError(t, err)
	require.Equal(t, []string{"aa", "b", "ccc", "dd", "new"}, names)
	require.Equal(t, []int{0, 5, 0, 5, 12}, s.offsets)
}

func TestDirectoryPartMalformed(t *testing.T) {
	for _, p := range []string{"", "nogen", "\x00a\x00", "3\x00a"} {
		c, _ := newFake(t, func(f *fake, m Message) { f.reply(m, []byte(p)) })
		_, err := c.DirectoryPart(testCtx(t), "/d")
		require.ErrorIs(t, err, errMalformed, "%q", p)
	}
}
