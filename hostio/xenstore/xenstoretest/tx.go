package xenstoretest

import (
	"context"
	"strconv"
	"sync"

	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/hostio/xenstore"
	"github.com/xenactor/xenactor/internal/errdefs"
)

var txTests = []test{
	{"ReadYourWrites", testTxReadYourWrites},
	{"Abort", testTxAbort},
	{"Conflicts", testTxConflicts},
	{"WatchAtCommit", testTxWatchAtCommit},
	{"UpdateConcurrent", testTxUpdateConcurrent},
	{"UnknownID", testTxUnknownID},
	{"EndBadArg", testTxEndBadArg},
	{"Nested", testTxNested},
	{"Independent", testTxIndependent},
}

func testTxReadYourWrites(e *env) {
	c, other := e.client(), e.client()
	require.NoError(e, c.Write(e.ctx, e.path("old"), []byte("before")))
	require.NoError(e, c.Write(e.ctx, e.path("gone"), []byte("here")))
	tx, err := c.Transaction(e.ctx)
	require.NoError(e, err)
	require.NoError(e, tx.Write(e.ctx, e.path("new/a"), []byte("1")))
	require.NoError(e, tx.Write(e.ctx, e.path("old"), []byte("after")))
	require.NoError(e, tx.Rm(e.ctx, e.path("gone")))
	require.NoError(e, tx.Mkdir(e.ctx, e.path("dir")))
	require.NoError(e, tx.SetPerms(e.ctx, e.path("dir"), perms("n0", "r3")))

	check := func(h xenstore.Handle, inside bool) {
		e.Helper()
		v, err := h.Read(e.ctx, e.path("new/a"))
		if inside {
			require.NoError(e, err)
			require.Equal(e, "1", string(v))
		} else {
			requireErrno(e, err, xenstore.ENOENT, "new node seen outside the transaction")
		}
		v, err = h.Read(e.ctx, e.path("old"))
		require.NoError(e, err)
		if inside {
			require.Equal(e, "after", string(v))
		} else {
			require.Equal(e, "before", string(v))
		}
		_, err = h.Read(e.ctx, e.path("gone"))
		if inside {
			requireErrno(e, err, xenstore.ENOENT)
		} else {
			require.NoError(e, err)
		}
		kids, err := h.Directory(e.ctx, e.path())
		require.NoError(e, err)
		if inside {
			require.ElementsMatch(e, []string{"old", "new", "dir"}, kids)
		} else {
			require.ElementsMatch(e, []string{"old", "gone"}, kids)
		}
		ps, err := h.GetPerms(e.ctx, e.path("dir"))
		if inside {
			require.NoError(e, err)
			require.Equal(e, perms("n0", "r3"), ps)
		} else {
			requireErrno(e, err, xenstore.ENOENT)
		}
	}
	check(tx.Handle, true)
	check(other.Handle, false)
	check(c.Handle, false) // the same connection outside the transaction
	require.NoError(e, tx.Commit(e.ctx))
	check(other.Handle, true)
}

func testTxAbort(e *env) {
	c := e.client()
	require.NoError(e, c.Write(e.ctx, e.path("v"), []byte("orig")))
	tx, err := c.Transaction(e.ctx)
	require.NoError(e, err)
	require.NoError(e, tx.Write(e.ctx, e.path("v"), []byte("changed")))
	require.NoError(e, tx.Write(e.ctx, e.path("n"), []byte("new")))
	require.NoError(e, tx.Abort(e.ctx))
	got, err := c.Read(e.ctx, e.path("v"))
	require.NoError(e, err)
	require.Equal(e, "orig", string(got))
	_, err = c.Read(e.ctx, e.path("n"))
	requireErrno(e, err, xenstore.ENOENT)
	// The id is gone once ended.
	_, err = tx.Read(e.ctx, e.path("v"))
	requireErrno(e, err, xenstore.ENOENT, "READ in an aborted transaction")
}

func testTxConflicts(e *env) {
	// In each case the transaction touches nodes, another connection then
	// changes the tree, and the commit must fail with EAGAIN or not.
	type action func(h xenstore.Handle, p func(string) string) error
	read := func(rel string) action {
		return func(h xenstore.Handle, p func(string) string) error {
			_, err := h.Read(e.ctx, p(rel))
			if errdefs.IsNotFound(err) {
				return nil
			}
			return err
		}
	}
	write := func(rel string) action {
		return func(h xenstore.Handle, p func(string) string) error {
			return h.Write(e.ctx, p(rel), []byte("x"))
		}
	}
	rm := func(rel string) action {
		return func(h xenstore.Handle, p func(string) string) error { return h.Rm(e.ctx, p(rel)) }
	}
	dir := func(rel string) action {
		return func(h xenstore.Handle, p func(string) string) error {
			_, err := h.Directory(e.ctx, p(rel))
			return err
		}
	}
	cases := []struct {
		name     string
		tx       []action
		other    action
		conflict bool
	}{
		{"read then written", []action{read("x"), write("y")}, write("x"), true},
		{"read then removed", []action{read("x"), write("y")}, rm("x"), true},
		{"read missing then created", []action{read("none"), write("y")}, write("none"), true},
		{"written then written", []action{write("x")}, write("x"), true},
		{"read-only transaction, read then written", []action{read("x")}, write("x"), true},
		{"directory then child added", []action{dir("d"), write("y")}, write("d/new"), true},
		{"unrelated node written", []action{read("x"), write("y")}, write("z"), false},
		{"unrelated node removed", []action{read("x"), write("y")}, rm("z"), false},
		{"sibling created", []action{read("x"), write("y")}, write("w"), false},
		{"nothing touched", nil, write("x"), false},
	}
	c, other := e.client(), e.client()
	for _, tc := range cases {
		e.run(tc.name, func(e *env) {
			p := func(rel string) string { return e.prefix + "/" + rel }
			for _, n := range []string{"x", "y", "z", "d/a"} {
				require.NoError(e, c.Write(e.ctx, p(n), []byte("0")))
			}
			tx, err := c.Transaction(e.ctx)
			require.NoError(e, err)
			for _, a := range tc.tx {
				require.NoError(e, a(tx.Handle, p))
			}
			require.NoError(e, tc.other(other.Handle, p))
			err = tx.Commit(e.ctx)
			if !tc.conflict {
				require.NoError(e, err, "commit")
				return
			}
			requireErrno(e, err, xenstore.EAGAIN, "commit")
			require.True(e, errdefs.IsConflict(err), "IsConflict(%v)", err)
			// Nothing of the failed transaction was applied.
			if len(tc.tx) > 1 {
				got, err := c.Read(e.ctx, p("y"))
				require.NoError(e, err)
				require.Equal(e, "0", string(got), "write of the failed transaction applied")
			}
			// And it is gone.
			err = doErr(e, c, xenstore.OpTransactionEnd, tx.ID(), xenstore.Strings("F"))
			requireErrno(e, err, xenstore.ENOENT, "abort after a failed commit")
		})
	}
}

func testTxWatchAtCommit(e *env) {
	w := e.wire()
	c := e.client()
	w.write(e.path("tw"), "")
	w.watch(e.path("tw"), "tok")
	w.expect(ev{e.path("tw"), "tok"})
	for _, commit := range []bool{true, false} {
		tx, err := c.Transaction(e.ctx)
		require.NoError(e, err)
		n := e.path("tw", strconv.FormatBool(commit))
		require.NoError(e, tx.Write(e.ctx, n, []byte("v")))
		w.expect() // nothing before the end
		if commit {
			require.NoError(e, tx.Commit(e.ctx))
			w.expect(ev{n, "tok"})
		} else {
			require.NoError(e, tx.Abort(e.ctx))
			w.expect()
		}
	}
	// A transaction's rm fires at commit too.
	tx, err := c.Transaction(e.ctx)
	require.NoError(e, err)
	require.NoError(e, tx.Rm(e.ctx, e.path("tw", "true")))
	w.expect()
	require.NoError(e, tx.Commit(e.ctx))
	w.expect(ev{e.path("tw", "true"), "tok"})
}

func testTxUpdateConcurrent(e *env) {
	const workers, rounds = 4, 25
	counter := e.path("counter")
	setup := e.client()
	require.NoError(e, setup.Write(e.ctx, counter, []byte("0")))
	clients := make([]*xenstore.Client, workers)
	for i := range clients {
		clients[i] = e.client() // one after another: C xenstored's backlog is one
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				err := c.Update(e.ctx, func(ctx context.Context, tx *xenstore.Tx) error {
					v, err := tx.Read(ctx, counter)
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(string(v))
					if err != nil {
						return err
					}
					return tx.Write(ctx, counter, []byte(strconv.Itoa(n+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
			_ = i
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(e, err)
	}
	got, err := setup.Read(e.ctx, counter)
	require.NoError(e, err)
	require.Equal(e, strconv.Itoa(workers*rounds), string(got))
}

func testTxUnknownID(e *env) {
	w := e.wire()
	const bogus = 987654
	w.write(e.path("n"), "v")
	cases := []struct {
		op   xenstore.Op
		args []string
	}{
		{xenstore.OpRead, []string{e.path("n")}},
		{xenstore.OpWrite, []string{e.path("n")}},
		{xenstore.OpMkdir, []string{e.path("m")}},
		{xenstore.OpRm, []string{e.path("n")}},
		{xenstore.OpDirectory, []string{e.path()}},
		{xenstore.OpGetPerms, []string{e.path("n")}},
		{xenstore.OpSetPerms, []string{e.path("n"), "n0"}},
		{xenstore.OpTransactionEnd, []string{"T"}},
		{xenstore.OpTransactionEnd, []string{"F"}},
		{xenstore.OpTransactionStart, []string{""}},
	}
	for _, tc := range cases {
		w.fail(xenstore.ENOENT, tc.op, bogus, tc.args...)
	}
	// TRANSACTION_END without a transaction.
	w.fail(xenstore.ENOENT, xenstore.OpTransactionEnd, 0, "T")
	// Another connection's transaction is unknown here.
	tx := parseTxID(e, w.do(xenstore.OpTransactionStart, 0, ""))
	w2 := e.wire()
	w2.fail(xenstore.ENOENT, xenstore.OpRead, tx, e.path("n"))
	w2.fail(xenstore.ENOENT, xenstore.OpTransactionEnd, tx, "T")
	w.ok(xenstore.OpTransactionEnd, tx, "T")
	// Nothing was changed by the refused requests.
	m := w.do(xenstore.OpRead, 0, e.path("n"))
	require.Equal(e, "v", string(m.Payload))
	w.fail(xenstore.ENOENT, xenstore.OpRead, 0, e.path("m"))
}

func testTxEndBadArg(e *env) {
	w := e.wire()
	tx := parseTxID(e, w.do(xenstore.OpTransactionStart, 0, ""))
	w.write(e.path("a"), "0")
	m := w.raw(xenstore.OpWrite, tx, append(xenstore.Strings(e.path("a")), "1"...))
	require.Equal(e, "OK\x00", string(m.Payload))
	for _, arg := range []string{"X", "", "TF", "t", "true"} {
		w.fail(xenstore.EINVAL, xenstore.OpTransactionEnd, tx, arg)
	}
	// The transaction is still open and commits.
	m = w.do(xenstore.OpRead, tx, e.path("a"))
	require.Equal(e, "1", string(m.Payload))
	w.ok(xenstore.OpTransactionEnd, tx, "T")
	m = w.do(xenstore.OpRead, 0, e.path("a"))
	require.Equal(e, "1", string(m.Payload))
}

func testTxNested(e *env) {
	w := e.wire()
	tx := parseTxID(e, w.do(xenstore.OpTransactionStart, 0, ""))
	w.fail(xenstore.EBUSY, xenstore.OpTransactionStart, tx, "")
	w.ok(xenstore.OpTransactionEnd, tx, "F")
}

func testTxIndependent(e *env) {
	c := e.client()
	require.NoError(e, c.Mkdir(e.ctx, e.path("p1")))
	require.NoError(e, c.Mkdir(e.ctx, e.path("p2")))
	// Several transactions on one connection: distinct ids, separate views.
	t1, err := c.Transaction(e.ctx)
	require.NoError(e, err)
	t2, err := c.Transaction(e.ctx)
	require.NoError(e, err)
	require.NotEqual(e, t1.ID(), t2.ID())
	t3, err := c.Transaction(e.ctx)
	require.NoError(e, err)
	require.NotEqual(e, t1.ID(), t3.ID())
	require.NotEqual(e, t2.ID(), t3.ID())
	require.NoError(e, t1.Write(e.ctx, e.path("p1/one"), []byte("1")))
	require.NoError(e, t2.Write(e.ctx, e.path("p2/two"), []byte("2")))
	// (A transaction that read p1/one as missing would conflict with t1.)
	for _, p := range []string{"p1/one", "p2/two"} {
		_, err = t3.Read(e.ctx, e.path(p))
		requireErrno(e, err, xenstore.ENOENT, "%s seen by another transaction", p)
	}
	require.NoError(e, t3.Abort(e.ctx))
	require.NoError(e, t1.Commit(e.ctx))
	require.NoError(e, t2.Commit(e.ctx))
	for n, v := range map[string]string{"p1/one": "1", "p2/two": "2"} {
		got, err := c.Read(e.ctx, e.path(n))
		require.NoError(e, err)
		require.Equal(e, v, string(got))
	}
}
