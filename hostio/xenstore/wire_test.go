package xenstore

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/xenactor/xenactor/internal/errdefs"
)

func TestMessage_RoundTrip(t *testing.T) {
	msgs := []Message{
		{Op: OpWrite, ReqID: 7, TxID: 3, Payload: append(Strings("/a/b"), "v\x00x"...)},
		{Op: OpRead, ReqID: 1, Payload: Strings("/")},
		{Op: OpTransactionStart, ReqID: 2, Payload: []byte{}},
		{Op: OpWatchEvent, Payload: Strings("/a", "tok")},
	}
	var stream []byte
	for _, m := range msgs {
		b, err := m.MarshalBinary()
		require.NoError(t, err)
		stream = append(stream, b...)
	}
	r := bytes.NewReader(stream)
	for _, want := range msgs {
		got, err := ReadMessage(r)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ReadMessage(r)
	assert.ErrorIs(t, err, io.EOF)
}

func TestMessage_Oversized(t *testing.T) {
	m := Message{Op: OpWrite, Payload: make([]byte, PayloadMax+1)}
	_, err := m.MarshalBinary()
	assert.ErrorIs(t, err, ErrPayloadTooLarge)
	_, err = ReadMessage(bytes.NewReader(m.Append(nil)))
	assert.ErrorIs(t, err, ErrPayloadTooLarge)
	var d Decoder
	d.Feed(m.Append(nil)[:HeaderSize])
	_, _, err = d.Next()
	assert.ErrorIs(t, err, ErrPayloadTooLarge)
	_, _, err = d.Next()
	assert.ErrorIs(t, err, ErrPayloadTooLarge, "the error sticks")
}

func TestReadMessage_Truncated(t *testing.T) {
	m := Message{Op: OpRead, Payload: Strings("/local/domain")}
	b := m.Append(nil)
	_, err := ReadMessage(bytes.NewReader(b[:len(b)-2]))
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

func TestOp_String(t *testing.T) {
	assert.Equal(t, "DIRECTORY_PART", OpDirectoryPart.String())
	assert.Equal(t, "SET_QUOTA", OpSetQuota.String())
	assert.Equal(t, "OP(99)", Op(99).String())
	assert.False(t, Op(27).Known())
}

func TestSplitStrings(t *testing.T) {
	assert.Nil(t, SplitStrings(nil))
	assert.Equal(t, []string{""}, SplitStrings([]byte{0}))
	assert.Equal(t, []string{"a", "b"}, SplitStrings(Strings("a", "b")))
	assert.Equal(t, []string{"a", "b"}, SplitStrings([]byte("a\x00b")))
	p, v, ok := SplitPathValue([]byte("/x\x00val\x00ue"))
	require.True(t, ok)
	assert.Equal(t, "/x", p)
	assert.Equal(t, "val\x00ue", string(v))
	_, _, ok = SplitPathValue([]byte("/x"))
	assert.False(t, ok)
}

func TestValidPath(t *testing.T) {
	long := "/" + string(bytes.Repeat([]byte("a"), AbsPathMax))
	cases := []struct {
		path     string
		relative bool
		ok       bool
	}{
		{"/", false, true},
		{"/local/domain/0", false, true},
		{"/a-b_c@d/E9", false, true},
		{"@releaseDomain", false, true},
		{"", false, false},
		{"//", false, false},
		{"/a//b", false, false},
		{"/a/", false, false},
		{"/a b", false, false},
		{"/a.b", false, false},
		{"data/x", false, false},
		{"data/x", true, true},
		{long, false, false},
		{long[:RelPathMax+1], false, false},
		{long[:RelPathMax], false, true},
		{"/local/domain/5/" + long[1:RelPathMax+1], false, true},
		{"/local/domain/5/" + long[1:RelPathMax+2], false, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.ok, ValidPath(c.path, c.relative), "%q relative=%v", c.path, c.relative)
	}
}

func TestPathHelpers(t *testing.T) {
	assert.Equal(t, "/local/domain/12", DomainPath(12))
	assert.True(t, IsChild("/a/b", "/a"))
	assert.True(t, IsChild("/a", "/a"))
	assert.True(t, IsChild("/a", "/"))
	assert.False(t, IsChild("/ab", "/a"))
	assert.Equal(t, "/", Parent("/a"))
	assert.Equal(t, "/a", Parent("/a/b"))
	assert.Equal(t, "b", Base("/a/b"))
	_, ok := ParseDomid("65536")
	assert.False(t, ok)
}

func TestPerms(t *testing.T) {
	ps, err := ParsePerms([]string{"n0", "r5", "b7", "w65535"})
	require.NoError(t, err)
	assert.Equal(t, []string{"n0", "r5", "b7", "w65535"}, PermStrings(ps))
	assert.True(t, ps[2].Access.CanRead() && ps[2].Access.CanWrite())
	for _, bad := range []string{"", "r", "x5", "r-1", "r70000", "rr"} {
		_, err := ParsePerm(bad)
		assert.Error(t, err, bad)
	}
	_, err = ParsePerms(nil)
	assert.Error(t, err)
}

func TestErrno_Kinds(t *testing.T) {
	cases := map[Errno]error{
		ENOENT: errdefs.ErrNotFound, EEXIST: errdefs.ErrExists, EACCES: errdefs.ErrPermission,
		EINVAL: errdefs.ErrInvalid, EAGAIN: errdefs.ErrConflict, ENOSPC: errdefs.ErrResourceExhausted,
		EQUOTA: errdefs.ErrResourceExhausted, ENOSYS: errdefs.ErrNotImplemented, EBUSY: errdefs.ErrBusy,
	}
	for e, kind := range cases {
		err := error(&Error{Op: OpRead, Path: "/x", Errno: e})
		assert.True(t, errors.Is(err, kind), "%s", e)
		assert.True(t, errors.Is(err, e), "%s", e)
	}
	assert.Len(t, Errnos, 16)
	assert.Equal(t, "xenstore READ /x: ENOENT", (&Error{Op: OpRead, Path: "/x", Errno: ENOENT}).Error())
}

// FuzzDecoder feeds a stream in arbitrary pieces to the incremental
// Decoder and checks it yields exactly what ReadMessage reads from the
// whole stream, without panicking.
func FuzzDecoder(f *testing.F) {
	seed := Message{Op: OpWrite, ReqID: 1, Payload: append(Strings("/a"), 'v')}
	f.Add(seed.Append(nil), uint8(3))
	f.Add(append(seed.Append(nil), seed.Append(nil)...), uint8(17))
	f.Add((&Message{Op: OpRead, Payload: make([]byte, PayloadMax+1)}).Append(nil)[:20], uint8(1))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		var want []Message
		var wantErr error
		r := bytes.NewReader(stream)
		for {
			m, err := ReadMessage(r)
			if err != nil {
				if errors.Is(err, ErrPayloadTooLarge) {
					wantErr = err
				}
				break
			}
			want = append(want, m)
		}
		var d Decoder
		var got []Message
		var gotErr error
		step := int(chunk) + 1
		for i := 0; i < len(stream) && gotErr == nil; i += step {
			d.Feed(stream[i:min(i+step, len(stream))])
			for {
				m, ok, err := d.Next()
				if err != nil {
					gotErr = err
					break
				}
				if !ok {
					break
				}
				got = append(got, m)
			}
		}
		if len(want) == 0 {
			want = nil
		}
		require.Equal(t, want, got)
		require.Equal(t, wantErr, gotErr)
	})
}
