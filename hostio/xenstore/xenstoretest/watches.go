package xenstoretest

import (
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

var watchTests = []test{
	{"InitialEvent", testWatchInitialEvent},
	{"Fires", testWatchFires},
	{"BelowRemovedSubtree", testWatchBelowRemoved},
	{"OtherConnection", testWatchOtherConnection},
	{"Unwatch", testUnwatch},
	{"Duplicate", testWatchDuplicate},
	{"UnwatchUnknown", testUnwatchUnknown},
	{"TwoTokens", testWatchTwoTokens},
	{"SpecialDomainPaths", testWatchSpecial},
	{"ResetWatches", testResetWatches},
	{"Depth", testWatchDepth},
	{"ClientWatch", testClientWatch},
}

func testWatchInitialEvent(e *env) {
	w := e.wire()
	// Fires once, with the path as given, whether or not the node exists.
	w.write(e.path("exists"), "")
	w.watch(e.path("exists"), "t1")
	w.expect(ev{e.path("exists"), "t1"})
	w.watch(e.path("missing/deeper"), "t2")
	w.expect(ev{e.path("missing/deeper"), "t2"})
	w.watch(xenstore.WatchIntroduceDomain, "t3")
	w.expect(ev{xenstore.WatchIntroduceDomain, "t3"})
	// The token is any string, empty included.
	w.watch(e.path("exists"), "")
	w.expect(ev{e.path("exists"), ""})
	w.watch(e.path("exists"), "a token with spaces/and/slashes")
	w.expect(ev{e.path("exists"), "a token with spaces/and/slashes"})
}

func testWatchFires(e *env) {
	// Each case runs on a fresh subtree with a watch on e.path(name, "w")
	// (for "w" below) and checks the events after each action.
	type step struct {
		do   func(w *wire, p func(string) string)
		want []string // event paths relative to the case's directory
	}
	write := func(rel, v string) func(*wire, func(string) string) {
		return func(w *wire, p func(string) string) { w.write(p(rel), v) }
	}
	op := func(o xenstore.Op, rel string, more ...string) func(*wire, func(string) string) {
		return func(w *wire, p func(string) string) { w.ok(o, 0, append([]string{p(rel)}, more...)...) }
	}
	cases := []struct {
		name  string
		setup []string // nodes to create before the watch
		steps []step
	}{
		{"create", nil, []step{{write("w", "v"), []string{"w"}}}},
		{"modify", []string{"w"}, []step{{write("w", "v2"), []string{"w"}}}},
		{"same value again", []string{"w"}, []step{{write("w", ""), []string{"w"}}}},
		{"create child", []string{"w"}, []step{{write("w/a", "v"), []string{"w/a"}}}},
		{"create deep child", []string{"w"}, []step{{write("w/a/b/c", "v"), []string{"w/a/b/c"}}}},
		{"create below missing watch path", nil, []step{{write("w/a", "v"), []string{"w/a"}}}},
		{"mkdir new", []string{"w"}, []step{{op(xenstore.OpMkdir, "w/m"), []string{"w/m"}}}},
		{"rm", []string{"w"}, []step{{op(xenstore.OpRm, "w"), []string{"w"}}}},
		{"rm child", []string{"w/a"}, []step{{op(xenstore.OpRm, "w/a"), []string{"w/a"}}}},
		{"rm subtree", []string{"w/a/b", "w/a/c"}, []step{{op(xenstore.OpRm, "w/a"), []string{"w/a"}}}},
		{"rm parent", []string{"w/a"}, []step{{op(xenstore.OpRm, ""), []string{"w"}}}},
		{"set perms", []string{"w"}, []step{{op(xenstore.OpSetPerms, "w", "n0", "r3"), []string{"w"}}}},
		{"sibling with the same prefix", []string{"w"}, []step{
			{write("wx", "v"), nil},
			{write("w-x/a", "v"), nil},
		}},
		{"parent and siblings", []string{"w"}, []step{
			{write("", "v"), nil},
			{write("other", "v"), nil},
			{op(xenstore.OpRm, "other"), nil},
		}},
		{"read-only ops", []string{"w/a"}, []step{{func(w *wire, p func(string) string) {
			w.do(xenstore.OpRead, 0, p("w"))
			w.do(xenstore.OpDirectory, 0, p("w"))
			w.do(xenstore.OpGetPerms, 0, p("w/a"))
			w.do(xenstore.OpDirectoryPart, 0, p("w"), "0")
		}, nil}}},
		{"rm of a missing child", []string{"w"}, []step{{op(xenstore.OpRm, "w/none"), nil}}},
	}
	for _, tc := range cases {
		e.run(tc.name, func(e *env) {
			dir := e.prefix
			p := func(rel string) string {
				if rel == "" {
					return dir
				}
				return dir + "/" + rel
			}
			w := e.wire()
			for _, s := range tc.setup {
				w.write(p(s), "")
			}
			if len(tc.setup) == 0 {
				w.write(dir, "")
			}
			w.watch(p("w"), "tok")
			w.expect(ev{p("w"), "tok"})
			for i, s := range tc.steps {
				s.do(w, p)
				var want []ev
				for _, rel := range s.want {
					want = append(want, ev{p(rel), "tok"})
				}
				got := w.sync()
				if len(want) == 0 {
					require.Empty(e, got, "step %d", i)
				} else {
					require.Equal(e, want, got, "step %d", i)
				}
			}
		})
	}
}

func testWatchBelowRemoved(e *env) {
	w := e.wire()
	w.write(e.path("t/a/b"), "")
	// Watches below a removed node fire with their own path, existing or not.
	w.watch(e.path("t/a/b"), "deep")
	w.watch(e.path("t/a/none/x"), "absent")
	w.watch(e.path("t-sibling"), "sib")
	w.expectAnyOrder(ev{e.path("t/a/b"), "deep"}, ev{e.path("t/a/none/x"), "absent"}, ev{e.path("t-sibling"), "sib"})
	// A watch below the removed node fires with its own path if its node
	// existed (C xenstored fires once per removed node).
	w.ok(xenstore.OpRm, 0, e.path("t"))
	w.expect(ev{e.path("t/a/b"), "deep"})
}

func testWatchOtherConnection(e *env) {
	w1, w2 := e.wire(), e.wire()
	c := e.client()
	require.NoError(e, c.Write(e.ctx, e.path("x"), nil))
	w1.watch(e.path("x"), "one")
	w2.watch(e.path("x"), "two")
	w1.expect(ev{e.path("x"), "one"})
	w2.expect(ev{e.path("x"), "two"})
	require.NoError(e, c.Write(e.ctx, e.path("x/y"), []byte("v")))
	w1.expect(ev{e.path("x/y"), "one"})
	w2.expect(ev{e.path("x/y"), "two"})
	// A watch belongs to its connection: closing one leaves the other.
	_ = w1.conn.Close()
	require.NoError(e, c.Rm(e.ctx, e.path("x/y")))
	w2.expect(ev{e.path("x/y"), "two"})
}

func testUnwatch(e *env) {
	w := e.wire()
	w.write(e.path("u"), "")
	w.watch(e.path("u"), "a")
	w.watch(e.path("u"), "b")
	w.expectAnyOrder(ev{e.path("u"), "a"}, ev{e.path("u"), "b"})
	w.ok(xenstore.OpUnwatch, 0, e.path("u"), "a")
	w.write(e.path("u/x"), "")
	w.expect(ev{e.path("u/x"), "b"})
	w.ok(xenstore.OpUnwatch, 0, e.path("u"), "b")
	w.write(e.path("u/y"), "")
	w.expect()
	// Unwatching again: gone.
	w.fail(xenstore.ENOENT, xenstore.OpUnwatch, 0, e.path("u"), "a")
	// The same watch can be registered again.
	w.watch(e.path("u"), "a")
	w.expect(ev{e.path("u"), "a"})
	w.write(e.path("u/z"), "")
	w.expect(ev{e.path("u/z"), "a"})
}

func testWatchDuplicate(e *env) {
	w := e.wire()
	w.watch(e.path("d"), "tok")
	w.fail(xenstore.EEXIST, xenstore.OpWatch, 0, e.path("d"), "tok")
	// The same path with another token, or another path with the token.
	w.watch(e.path("d"), "tok2")
	w.watch(e.path("d2"), "tok")
	w.expectAnyOrder(ev{e.path("d"), "tok"}, ev{e.path("d"), "tok2"}, ev{e.path("d2"), "tok"})
	// The refused duplicate did not add a second watch.
	w.write(e.path("d"), "")
	w.expectAnyOrder(ev{e.path("d"), "tok"}, ev{e.path("d"), "tok2"})

	// Through the client: EEXIST maps onto errdefs.ErrExists. A second
	// connection may register the same watch.
	c := e.client()
	err := doErr(e, c, xenstore.OpWatch, 0, xenstore.Strings(e.path("d"), "c"))
	require.NoError(e, err)
	err = doErr(e, c, xenstore.OpWatch, 0, xenstore.Strings(e.path("d"), "c"))
	requireErrno(e, err, xenstore.EEXIST)
	require.True(e, errdefs.IsExists(err))
	c2 := e.client()
	require.NoError(e, doErr(e, c2, xenstore.OpWatch, 0, xenstore.Strings(e.path("d"), "c")))
}

func testUnwatchUnknown(e *env) {
	w := e.wire()
	w.fail(xenstore.ENOENT, xenstore.OpUnwatch, 0, e.path("none"), "tok")
	w.watch(e.path("k"), "tok")
	w.fail(xenstore.ENOENT, xenstore.OpUnwatch, 0, e.path("k"), "other")
	w.fail(xenstore.ENOENT, xenstore.OpUnwatch, 0, e.path("k/sub"), "tok")
	w.fail(xenstore.EINVAL, xenstore.OpUnwatch, 0, e.path("k"))
	// A watch of another connection is not this one's to remove.
	w2 := e.wire()
	w2.fail(xenstore.ENOENT, xenstore.OpUnwatch, 0, e.path("k"), "tok")
	w.expect(ev{e.path("k"), "tok"})
	w.write(e.path("k"), "")
	w.expect(ev{e.path("k"), "tok"})
}

func testWatchTwoTokens(e *env) {
	w := e.wire()
	w.write(e.path("two"), "")
	w.watch(e.path("two"), "a")
	w.watch(e.path("two"), "b")
	w.watch(e.path("two/x"), "a") // same token, nested path: fires too
	w.expectAnyOrder(ev{e.path("two"), "a"}, ev{e.path("two"), "b"}, ev{e.path("two/x"), "a"})
	// Two watches of one token match: C xenstored sends the identical event
	// once, others may send it twice.
	w.write(e.path("two/x"), "v")
	w.expectSet(ev{e.path("two/x"), "a"}, ev{e.path("two/x"), "b"})
	w.write(e.path("two/y"), "v")
	w.expectAnyOrder(ev{e.path("two/y"), "a"}, ev{e.path("two/y"), "b"})
}

func testWatchSpecial(e *env) {
	const domid = "7"
	w := e.wire()
	w.watch(xenstore.WatchIntroduceDomain, "in")
	w.watch(xenstore.WatchReleaseDomain, "out")
	w.expectAnyOrder(ev{xenstore.WatchIntroduceDomain, "in"}, ev{xenstore.WatchReleaseDomain, "out"})
	w.ok(xenstore.OpIntroduce, 0, domid, "100", "5")
	e.Cleanup(func() { releaseQuietly(e, domid) })
	w.expect(ev{xenstore.WatchIntroduceDomain, "in"})
	// Introducing a known domain again fires nothing.
	w.ok(xenstore.OpIntroduce, 0, domid, "100", "5")
	w.expect()
	// Node changes do not fire special watches.
	w.write(e.path("n"), "")
	w.expect()
	w.ok(xenstore.OpRelease, 0, domid)
	w.expect(ev{xenstore.WatchReleaseDomain, "out"})
	// Refused requests fire nothing.
	w.fail(xenstore.ENOENT, xenstore.OpRelease, 0, domid)
	w.fail(xenstore.EINVAL, xenstore.OpIntroduce, 0, domid, "100")
	w.expect()
	// Unwatching a special path.
	w.ok(xenstore.OpUnwatch, 0, xenstore.WatchIntroduceDomain, "in")
	w.ok(xenstore.OpIntroduce, 0, domid, "100", "5")
	w.expect()
	w.ok(xenstore.OpRelease, 0, domid)
	w.expect(ev{xenstore.WatchReleaseDomain, "out"})
}

// releaseQuietly releases a domain a test introduced, on a connection of
// its own, ignoring the answer (it may be released already).
func releaseQuietly(e *env, domid string) {
	c, err := e.tg.Dial(e.ctx)
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = c.Do(e.ctx, xenstore.Message{Op: xenstore.OpRelease, Payload: xenstore.Strings(domid)})
}

func testResetWatches(e *env) {
	w := e.wire()
	w.watch(e.path("r"), "a")
	w.watch(e.path("r/s"), "b")
	w.watch(xenstore.WatchIntroduceDomain, "c")
	w.expectAnyOrder(ev{e.path("r"), "a"}, ev{e.path("r/s"), "b"}, ev{xenstore.WatchIntroduceDomain, "c"})
	m := w.do(xenstore.OpTransactionStart, 0, "")
	require.Equal(e, xenstore.OpTransactionStart, m.Op, "reply %v", m)
	tx := parseTxID(e, m)

	w.resetWatches()
	w.write(e.path("r/s"), "v")
	w.expect()
	// Every watch is gone, and so is the connection's transaction.
	w.fail(xenstore.ENOENT, xenstore.OpUnwatch, 0, e.path("r"), "a")
	w.fail(xenstore.ENOENT, xenstore.OpTransactionEnd, tx, "F")
	// The connection still works and takes new watches.
	w.watch(e.path("r"), "a")
	w.expect(ev{e.path("r"), "a"})
	w.write(e.path("r"), "v")
	w.expect(ev{e.path("r"), "a"})
}

func testWatchDepth(e *env) {
	w := e.wire()
	if !e.tg.Caps.WatchDepth {
		w.fail(xenstore.EINVAL, xenstore.OpWatch, 0, e.path("d"), "tok", "1")
		// Nothing was registered.
		w.write(e.path("d"), "")
		w.expect()
		return
	}
	w.watch(e.path("d"), "zero")
	w.ok(xenstore.OpWatch, 0, e.path("d"), "one", "1")
	w.ok(xenstore.OpWatch, 0, e.path("d"), "all", "")
	w.expectAnyOrder(ev{e.path("d"), "zero"}, ev{e.path("d"), "one"}, ev{e.path("d"), "all"})
	w.write(e.path("d"), "")
	w.expectAnyOrder(ev{e.path("d"), "zero"}, ev{e.path("d"), "one"}, ev{e.path("d"), "all"})
	w.write(e.path("d/a"), "")
	w.expectAnyOrder(ev{e.path("d/a"), "zero"}, ev{e.path("d/a"), "one"}, ev{e.path("d/a"), "all"})
	w.write(e.path("d/a/b"), "")
	w.expectAnyOrder(ev{e.path("d/a/b"), "zero"}, ev{e.path("d/a/b"), "all"})
	w.ok(xenstore.OpWatch, 0, e.path("e"), "none", "0")
	w.expect(ev{e.path("e"), "none"})
	w.write(e.path("e"), "")
	w.write(e.path("e/a"), "")
	w.expect(ev{e.path("e"), "none"})
	w.fail(xenstore.EINVAL, xenstore.OpWatch, 0, e.path("e"), "bad", "-1")
	w.fail(xenstore.EINVAL, xenstore.OpWatch, 0, e.path("e"), "bad", "x")
}

func testClientWatch(e *env) {
	c := e.client()
	other := e.client()
	p := e.path("cw")
	require.NoError(e, c.Write(e.ctx, p, nil))
	wa, err := c.Watch(e.ctx, p, "a")
	require.NoError(e, err)
	recv := func(w *xenstore.Watch) xenstore.WatchEvent {
		e.Helper()
		select {
		case x, ok := <-w.Events():
			require.True(e, ok, "events channel closed")
			return x
		case <-e.ctx.Done():
			e.Fatalf("no watch event: %v", e.ctx.Err())
		}
		return xenstore.WatchEvent{}
	}
	require.Equal(e, xenstore.WatchEvent{Path: p, Token: "a"}, recv(wa), "initial event")
	require.NoError(e, other.Write(e.ctx, p+"/x", []byte("1")))
	require.Equal(e, xenstore.WatchEvent{Path: p + "/x", Token: "a"}, recv(wa))

	// The client refuses a duplicate (path, token) itself.
	_, err = c.Watch(e.ctx, p, "a")
	require.True(e, errdefs.IsExists(err), "duplicate watch: %v", err)

	wb, err := c.Watch(e.ctx, p+"/x", "b")
	require.NoError(e, err)
	require.Equal(e, xenstore.WatchEvent{Path: p + "/x", Token: "b"}, recv(wb))
	require.NoError(e, other.Rm(e.ctx, p))
	require.Equal(e, xenstore.WatchEvent{Path: p, Token: "a"}, recv(wa))
	require.Equal(e, xenstore.WatchEvent{Path: p + "/x", Token: "b"}, recv(wb), "watch below a removed node")

	require.NoError(e, wa.Close(e.ctx))
	for range wa.Events() {
	}
	require.NoError(e, c.ResetWatches(e.ctx))
	for range wb.Events() {
	}
	// The connection keeps working.
	require.NoError(e, c.Write(e.ctx, p, []byte("v")))
}

func parseTxID(e *env, m xenstore.Message) uint32 {
	e.Helper()
	require.NotEqual(e, xenstore.OpError, m.Op, "TRANSACTION_START: %v", m)
	var id uint32
	for _, ch := range xenstore.FirstString(m.Payload) {
		require.True(e, ch >= '0' && ch <= '9', "transaction id %q", m.Payload)
		id = id*10 + uint32(ch-'0')
	}
	require.NotZero(e, id, "transaction id %q", m.Payload)
	return id
}
